#!/usr/bin/env python3
"""Generates data/sample/: the offline sample the main job runs on (no network).

Writes, deterministically (fixed seed, gzip mtime 0):
  data/sample/files/<Name>.jsonl.gz      one small file per record format of ../shared/reference/LODESTONE.md
  data/sample/GoogleSheets_datasets.tsv  manifests in the original's columns, links relative to data/sample/
  data/sample/HuggingFace_datasets.tsv
  data/sample/expected_records.json      {key relative to data/: training examples}, known by construction
  data/sample/eval_pairs.jsonl           held-out {"anchor", "positive"} pairs, none of them in training

The text is generated from templates over topics: an anchor and its positive share the topic and one key word
but are phrased differently and use different topic words, so a tiny randomly initialised encoder can learn,
in minutes of CPU training, to retrieve held-out positives better than before training.
usage: python3 Scripts/make-sample.py [OUT_DIR]   (default data/sample next to this script's parent)
"""
import gzip
import io
import json
import os
import random
import sys

TOPICS = {
    "astronomy": "telescope galaxy orbit planet comet nebula asteroid star lunar eclipse meteor solar satellite observatory",
    "cooking": "recipe oven garlic butter flour onion pepper sauce roast bake kitchen spice dough soup",
    "gardening": "soil seeds tomato compost roses weeds garden shovel fertilizer bulbs hedge lawn tulips harvest",
    "football": "goal striker referee penalty stadium midfield keeper league tackle coach match offside fans trophy",
    "music": "guitar piano melody chord rhythm drums concert violin orchestra song singer album tempo jazz",
    "medicine": "doctor patient vaccine fever surgery hospital nurse infection dose symptoms clinic therapy blood virus",
    "finance": "bank loan interest mortgage stocks budget savings credit investor dividend inflation tax debt bonds",
    "programming": "compiler python function variable debugger syntax library database server code loop array bug script",
    "ocean": "whale coral reef tide shark dolphin wave sailor harbor fish island shore current seaweed",
    "weather": "rain storm thunder snow forecast cloud wind humidity hurricane drought temperature frost fog lightning",
    "history": "empire king castle war treaty revolution medieval dynasty pharaoh colony monarch battle ancient ruins",
    "chemistry": "molecule atom acid reaction electron bond carbon oxygen catalyst solution crystal element compound lab",
    "travel": "passport airport hotel luggage flight ticket tourist visa train journey map beach museum suitcase",
    "cars": "engine tire brake gearbox fuel diesel battery mechanic steering clutch exhaust sedan truck mileage",
    "birds": "eagle sparrow nest feathers wings parrot owl migration beak pigeon hawk crow songbird flock",
    "painting": "canvas brush portrait easel watercolor sketch gallery pigment landscape artist palette mural oil frame",
    "law": "court judge lawyer contract jury verdict lawsuit evidence appeal witness statute trial attorney crime",
    "farming": "tractor wheat cattle barn harvest irrigation dairy crops plough orchard sheep grain farmer pasture",
    "fitness": "workout gym muscle cardio running yoga protein stretching weights squat endurance treadmill sprint trainer",
    "education": "teacher student classroom exam homework lecture school grades curriculum textbook tutor university campus diploma",
    "architecture": "building bridge tower concrete steel facade arch blueprint architect dome skyscraper column stairs roof",
    "photography": "camera lens shutter tripod exposure flash portrait zoom pixel aperture photographer focus film studio",
    "volcanoes": "lava magma eruption crater ash volcano geologist plume basalt caldera tremor summit vent smoke",
    "coffee": "espresso beans roast caffeine barista latte mug grinder brew aroma cafe cappuccino milk sugar",
    "chess": "bishop knight pawn rook checkmate opening gambit queen tournament grandmaster board endgame castling move",
    "electricity": "voltage circuit resistor current wire switch transformer battery generator socket fuse cable power grid",
    "dogs": "puppy leash bark breed collar kennel veterinarian fetch terrier poodle walk bone tail retriever",
    "cinema": "movie director actor screenplay camera premiere audience scene trailer studio film cast sequel popcorn",
    "space travel": "rocket astronaut launch capsule orbit spacecraft mission module gravity shuttle thrust crew moon mars",
    "baking": "bread yeast oven loaf pastry cake cookies flour sugar frosting muffin crust cinnamon vanilla",
    "mountains": "summit glacier ridge climber peak avalanche trail altitude valley rope cliff hiker slope snow",
    "insects": "bee ant butterfly beetle wasp mosquito spider cricket caterpillar hive moth larvae nectar swarm",
    "economics": "market supply demand trade tariff recession wages growth currency export import unemployment price economy",
    "computers": "keyboard monitor laptop processor memory disk mouse software printer network router screen cpu chip",
    "languages": "grammar vocabulary verb noun dictionary translation accent pronunciation sentence syllable dialect spelling alphabet fluent",
    "forests": "pine oak timber deer moss mushrooms canopy wildfire ranger logging leaves bark fern woodland",
    "tennis": "racket serve volley court umpire forehand backhand net tiebreak ace baseline doubles slam rally",
    "energy": "solar wind turbine coal nuclear reactor emissions hydrogen panels grid renewable oil gas efficiency",
    "fashion": "dress jacket fabric designer runway cotton silk boots shirt tailor model collection denim scarf",
    "mathematics": "equation algebra geometry theorem proof integral matrix triangle fraction calculus prime angle vector graph",
}

QUESTION = [
    "what should i know about the {k} and the {a}?",
    "how does a {k} affect the {a} and the {b}?",
    "why is the {k} important for {a}?",
    "can someone explain the {k} in simple terms, with the {a}?",
    "what is the difference between a {k} and a {a}?",
    "is it true that the {k} depends on the {a}?",
]
ANSWER = [
    "the {k} is mostly about the {c}, and the {d} matters too.",
    "in short, a {k} works together with the {c} and the {d}.",
    "most experts link the {k} to the {c}; the {d} plays a smaller part.",
    "you can think of the {k} as connected to the {c} and to the {d}.",
    "a good {k} usually needs the {c}, as well as some {d}.",
]
STATEMENT = [
    "the {a} next to the {k} was surprisingly large.",
    "a {k} and a {a} were discussed at length.",
    "everyone talked about the {k} and its {a}.",
    "the report described the {k} near the {a}.",
]
PARAPHRASE = [
    "people kept mentioning a {k} together with the {c}.",
    "there was a long conversation on the {k} and some {c}.",
    "the {k} came up again, this time with the {c}.",
    "someone noted how the {k} relates to the {c}.",
]


class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.topics = {name: words.split() for name, words in TOPICS.items()}
        self.names = sorted(self.topics)

    def pick(self, topic=None):
        """A topic, its key word, and four other words of the topic (two for each side)."""
        topic = topic or self.rng.choice(self.names)
        key, a, b, c, d = self.rng.sample(self.topics[topic], 5)
        return topic, dict(k=key, a=a, b=b, c=c, d=d)

    def question(self, w):
        return self.rng.choice(QUESTION).format(**w)

    def answer(self, w):
        return self.rng.choice(ANSWER).format(**w)

    def statement(self, w):
        return self.rng.choice(STATEMENT).format(**w)

    def paraphrase(self, w):
        return self.rng.choice(PARAPHRASE).format(**w)

    def other_topic(self, topic):
        return self.rng.choice([t for t in self.names if t != topic])


def write_gzip_lines(path, lines):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        for line in lines:
            gz.write((line + "\n").encode())
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "sample")
    out = os.path.normpath(out)
    os.makedirs(os.path.join(out, "files"), exist_ok=True)
    g = Generator(42)
    seen = set()   # (anchor, positive) pairs used in training; eval pairs must avoid them
    datasets = []  # (manifest, name, description, records, lines)

    def add(manifest, name, description, lines, records):
        write_gzip_lines(os.path.join(out, "files", name + ".jsonl.gz"), lines)
        datasets.append((manifest, name, description, records))

    # Triplets: [statement, paraphrase, statement on another topic] (as AllNLI's hard-negative triplets).
    lines = []
    for _ in range(500):
        t, w = g.pick()
        _, wn = g.pick(g.other_topic(t))
        a, p = g.statement(w), g.paraphrase(w)
        seen.add((a, p))
        lines.append(json.dumps([a, p, g.statement(wn)]))
    add("GoogleSheets", "AllNLI", "Sample triplets [anchor, positive, hard negative]", lines, 500)

    # Pairs: [question, answer]; one blank line at the end counts nothing.
    lines = []
    for _ in range(600):
        t, w = g.pick()
        q, a = g.question(w), g.answer(w)
        seen.add((q, a))
        lines.append(json.dumps([q, a]))
    lines.append("")
    add("GoogleSheets", "gooaq_pairs", "Sample question-answer pairs [question, answer]", lines, 600)

    # {"texts": [title, body], "guid": …} as in the flax stackexchange files.
    lines = []
    for i in range(400):
        t, w = g.pick()
        title, body = g.question(w), g.answer(w) + " " + g.paraphrase(w)
        seen.add((title, body))
        lines.append(json.dumps({"texts": [title, body], "guid": f"sample-{i}"}))
    add("GoogleSheets", "stackexchange_title_body_small", "Sample {\"texts\": [title, body]} records", lines, 400)

    # {"set": [...]}: 2 to 4 paraphrases; one example per line (its first two texts).
    lines = []
    for _ in range(300):
        t, w = g.pick()
        texts = [g.statement(w), g.paraphrase(w)] + [g.paraphrase(dict(w, c=x)) for x in
                                                      g.rng.sample(g.topics[t], g.rng.randint(0, 2))]
        seen.add((texts[0], texts[1]))
        lines.append(json.dumps({"set": texts}))
    add("GoogleSheets", "quora_duplicates", "Sample paraphrase groups {\"set\": [...]}", lines, 300)

    # reddit_20XX: {"context", "response"} -> (response, context).
    lines = []
    for _ in range(400):
        t, w = g.pick()
        context, response = g.question(w), g.answer(w)
        seen.add((response, context))
        lines.append(json.dumps({"context": context, "response": response, "id": g.rng.randint(1, 10**9)}))
    add("GoogleSheets", "reddit_2015", "Sample reddit threads {\"context\", \"response\"}", lines, 400)

    # {"query", "pos"}: one example per positive.
    lines, records = [], 0
    for _ in range(200):
        t, w = g.pick()
        q = g.question(w)
        pos = [g.answer(dict(w, c=c, d=d)) for c, d in
               (g.rng.sample([x for x in g.topics[t] if x != w["k"]], 2) for _ in range(g.rng.randint(1, 4)))]
        for p in pos:
            seen.add((q, p))
        records += len(pos)
        lines.append(json.dumps({"query": q, "pos": pos}))
    add("HuggingFace", "S2ORC_citations_abstracts", "Sample {\"query\", \"pos\": [...]} records", lines, records)

    # {"query", "pos", "neg"}: one example per positive, with a hard negative from another topic.
    lines, records = [], 0
    for _ in range(150):
        t, w = g.pick()
        q = g.question(w)
        pos = [g.answer(w) for _ in range(g.rng.randint(1, 3))]
        neg = [g.answer(g.pick(g.other_topic(t))[1]) for _ in range(g.rng.randint(1, 2))]
        for p in pos:
            seen.add((q, p))
        records += len(pos)
        lines.append(json.dumps({"query": q, "pos": pos, "neg": neg}))
    add("HuggingFace", "amazon-qa", "Sample {\"query\", \"pos\", \"neg\"} records", lines, records)

    # reddit-title-body: {"title", "body", "subreddit"} -> (title, body).
    lines = []
    for _ in range(400):
        t, w = g.pick()
        title, body = g.question(w), g.answer(w)
        seen.add((title, body))
        lines.append(json.dumps({"title": title, "body": body, "subreddit": t.replace(" ", "")}))
    add("HuggingFace", "reddit_title_text_2021", "Sample reddit posts {\"title\", \"body\", \"subreddit\"}", lines, 400)

    # Manifests in the original's columns; links relative to the manifest's folder.
    header = "Name\tDescription\tSize (#Pairs)\tPerformance\tDownload link\tSource\n"
    for manifest in ("GoogleSheets", "HuggingFace"):
        rows = [f"{name}\t{desc}\t{records:,}\t-\tfiles/{name}.jsonl.gz\tgenerated by Scripts/make-sample.py\n"
                for m, name, desc, records in datasets if m == manifest]
        with open(os.path.join(out, f"{manifest}_datasets.tsv"), "w") as f:
            f.write(header + "".join(rows))

    with open(os.path.join(out, "expected_records.json"), "w") as f:
        json.dump({f"{name}.json.gz": records for _, name, _, records in datasets}, f, indent=4, sort_keys=True)
        f.write("\n")

    # Held-out evaluation pairs: same generator, fresh draws, none seen in training.
    ev = Generator(4242)
    pairs = []
    while len(pairs) < 300:
        t, w = ev.pick()
        q, a = ev.question(w), ev.answer(w)
        if (q, a) in seen or any(q == p[0] for p in pairs):
            continue
        pairs.append((q, a))
    with open(os.path.join(out, "eval_pairs.jsonl"), "w") as f:
        for q, a in pairs:
            f.write(json.dumps({"anchor": q, "positive": a}) + "\n")

    total = sum(r for *_, r in datasets)
    print(f"make-sample: {len(datasets)} files, {total} training examples, {len(pairs)} eval pairs in {out}")


if __name__ == "__main__":
    main()

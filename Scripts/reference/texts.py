"""The texts the fixtures are computed on: model-case batches, tokenizer cases and MiniLM sentences.

Everything here is deterministic (fixed lists and a seeded random.Random), so the generator writes the same
files on every run.
"""
import random

# English prose written for these fixtures.
PROSE = [
    "The lighthouse keeper climbed the spiral stairs twice every night, once to light the lamp and once to check it.",
    "Rain had turned the market square into a shallow lake, and the children were delighted.",
    "A good compiler error tells you what went wrong, where it happened, and what you might do about it.",
    "She folded the map along its old creases and admitted that the road was not where she had drawn it.",
    "Magnets attract iron because the spins of its electrons line up in small regions called domains.",
    "The committee postponed its decision until the engineers could measure the bridge again in spring.",
    "He kept a notebook of every bird he saw, with the date, the weather and a drawing that was rarely good.",
    "Bread rises because yeast eats sugar and breathes out carbon dioxide, which the gluten traps as bubbles.",
    "After the storm the power came back street by street, and each block cheered when its lights returned.",
    "The museum's oldest clock loses four minutes a week, so a volunteer winds it forward every Monday.",
    "Tides are mostly the moon's doing, though the sun adds or subtracts about a third of the effect.",
    "Nobody remembered who had planted the pear tree, but everyone remembered who had eaten the pears.",
    "Sorting a list of a million numbers takes a fraction of a second on a laptop bought ten years ago.",
    "The orchestra tuned to the oboe's A, as orchestras have done for a very long time.",
    "Glaciers carve valleys shaped like a U, while rivers cut valleys shaped like a V.",
    "Please return the library books by Friday; the late fee doubles after the first week.",
    "In 1969, 600 million people watched the landing on television, about a fifth of humanity at the time.",
    "The recipe says 'a pinch of salt', which is about 0.36 grams if you ask a chemist, and less if you ask my aunt.",
    "Why do cats knock things off tables?  Curiosity, boredom, or a theory of gravity that needs more data.",
    "Version 2.3.1 fixed the crash on start-up (issue #418) but introduced a new one on shut-down.",
]

# Model cases: column 0 anchors, 1 positives, 2 hard negatives (mosaic only). The last anchor of each case is
# longer than max_seq_length so that truncation is part of the case.
MOSAIC_COLUMNS = [
    [
        "how do magnets attract iron",
        "when does the bridge reopen after the spring survey",
        "why does bread rise",
        "what causes the tides in the sea and why are some tides much higher than others during the year, "
        "especially near the full moon and the new moon",
    ],
    [
        "Magnets attract iron because the spins of its electrons line up in domains.",
        "The committee will decide after the engineers measure the bridge again in spring.",
        "Yeast eats sugar and breathes out carbon dioxide, which the gluten traps.",
        "Tides come mostly from the moon's pull, with the sun adding about a third.",
    ],
    [
        "Copper is a good conductor of electricity and heat.",
        "The old ferry stopped running when the tunnel opened.",
        "Flat bread is baked quickly on a very hot stone.",
        "Rivers cut valleys shaped like a V, glaciers like a U.",
    ],
]

BERT_COLUMNS = [
    [
        "who winds the museum clock",
        "late fee for library books",
        "tuning an orchestra",
        "how long does it take to sort numbers",
        "the lighthouse keeper climbed the spiral stairs twice every night to light the lamp and to check that "
        "it was still burning before the ships came past the rocks",
    ],
    [
        "A volunteer winds the oldest clock forward every Monday.",
        "The fee doubles after the first week; return books by Friday.",
        "Orchestras tune to the oboe's A before the concert.",
        "A laptop sorts a million numbers in a fraction of a second.",
        "Every night the keeper lit the lamp at the top of the tower.",
    ],
]


def _pick(rng, ranges):
    lo, hi = rng.choice(ranges)
    return chr(rng.randint(lo, hi))


# Blocks of long-assigned characters (Unicode 6 or earlier), so that every Unicode version agrees on them.
LETTERS = [(0x41, 0x5A), (0x61, 0x7A), (0x30, 0x39), (0xC0, 0xFF), (0x100, 0x17F), (0x391, 0x3A1), (0x3A3, 0x3A9), (0x3B1, 0x3C9),
           (0x410, 0x44F), (0x5D0, 0x5EA), (0x627, 0x64A), (0x905, 0x939), (0xE01, 0xE2E), (0x10D0, 0x10F0)]
CJK = [(0x4E00, 0x9FA5), (0x3041, 0x3093), (0x30A1, 0x30F3), (0xAC00, 0xD7A3)]
PUNCTUATION = [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E), (0xA1, 0xBF), (0x2010, 0x2027), (0x3001, 0x3011)]
SYMBOLS = [(0x2190, 0x21FF), (0x2200, 0x22FF), (0x20A0, 0x20B5), (0x2600, 0x2613), (0x2660, 0x266F)]
EMOJI = [(0x1F600, 0x1F64F), (0x1F300, 0x1F3F0), (0x1F680, 0x1F6C5)]
COMBINING = [(0x300, 0x36F)]
CONTROL = [(0x0, 0x8), (0xB, 0xC), (0xE, 0x1F), (0x7F, 0x9F)]
INVISIBLE = [(0x200B, 0x200F), (0x2060, 0x2064), (0xFEFF, 0xFEFF), (0xAD, 0xAD), (0x34F, 0x34F)]
SPACES = [(0x20, 0x20), (0x9, 0xA), (0xD, 0xD), (0xA0, 0xA0), (0x2000, 0x200A), (0x3000, 0x3000), (0x2028, 0x2029)]

FIXED_TOKENIZER_TEXTS = [
    "", " ", "\t\n\r", "hello", "HELLO World", "Hello, world!", "don't stop-believing...", "e-mail: a.b@c.de",
    "naïve café résumé", "Ångström Øresund façade jalapeño", "Dvořák Łódź Škoda Ærø", "ΑΒΓ αβγ Ελληνικά",
    "Привет, мир", "שלום עולם", "مرحبا بالعالم", "नमस्ते दुनिया", "สวัสดีชาวโลก", "ქართული ენა",
    "中文字符测试", "日本語のテキスト、カタカナとひらがな。", "한국어 문장입니다", "漢字かなまじり文",
    "mixed中文and english", "emoji 😀😃 test", "👍🏽 thumbs", "👩‍👩‍👧 family", "🇩🇪🇫🇷 flags",
    "zero\u200bwidth\u200cjoin\u200dner", "soft\u00adhyphen", "bom\ufefffirst", "word\u2060joiner",
    "control\x00\x01\x02chars", "bell\x07and\x1bescape", "del\x7fchar", "c1\x85\x9fcontrols",
    "non\u00a0breaking\u2003em\u3000ideographic", "line\u2028separator\u2029paragraph",
    "e\u0301 vs \u00e9", "A\u030a vs \u00c5", "combining\u0300\u0301\u0302\u0303 marks",
    "ﬁ ﬂ ligatures", "full-width ＡＢＣ １２３", "ℌ𝔢𝔩𝔩𝔬 𝐛𝐨𝐥𝐝", "Roman Ⅻ and ①②③", "x² y³ ½ ¼",
    "$100 €50 £20 ¥1000", "50% off!!! ??? ...", "#hashtag @mention", "<html><body>tags</body></html>",
    "C:\\path\\to\\file.txt", "https://example.com/a/b?c=d&e=f#g", "user_name snake_case camelCase",
    "1,234,567.89", "3.14159265358979", "2024-01-15T10:30:00Z", "(parentheses) [brackets] {braces}",
    "quotes “curly” ‘single’ «guillemets» „low“", "dashes – — ‒ ―", "ellipsis… bullet • middle·dot",
    "unaffable", "unbelievably", "antidisestablishmentarianism", "pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 101, "b" * 150, "supercalifragilistic" * 6, "x" * 99 + " " + "y" * 100, "word" * 30 + "!",
    "ab" * 60 + " short", "é" * 120, "中" * 40, "😀" * 30,
    "https://example.com/" + "very-long-path-segment/" * 6,
    "ALL CAPS SENTENCE WITH SHOUTING", "MiXeD cAsE wOrDs", "İstanbul ıi", "straße STRASSE", "ǅungla ǈjubav",
    "tab\tseparated\tvalues", "new\nlines\nhere", "  leading and trailing  ", "multiple     spaces",
    "[CLS] [SEP] [PAD] [MASK] [UNK]", "[cls] literal brackets", "first[SEP]second", "un[MASK]able words",
    "[ CLS ] [SEP[SEP]] [UNK", "ends with [SEP]", "[MASK]", "##hash ##marks", "....", "!!!", "a.b.c.d",
]


def tokenizer_texts(count=360, seed=17):
    """Fixed cases, the prose, and random strings drawn from every kind of character."""
    rng = random.Random(seed)
    texts = list(FIXED_TOKENIZER_TEXTS) + list(PROSE)
    kinds = [LETTERS, LETTERS, LETTERS, CJK, PUNCTUATION, SYMBOLS, EMOJI, COMBINING, CONTROL, INVISIBLE, SPACES, SPACES]
    while len(texts) < count:
        style = rng.randrange(5)
        if style == 0:  # any characters, any order
            texts.append("".join(_pick(rng, rng.choice(kinds)) for _ in range(rng.randint(1, 40))))
        elif style == 1:  # words of letters with accents and marks, separated by spaces
            words = []
            for _ in range(rng.randint(1, 8)):
                word = "".join(_pick(rng, LETTERS) for _ in range(rng.randint(1, 12)))
                if rng.random() < 0.3:
                    word += _pick(rng, COMBINING)
                words.append(word)
            texts.append(" ".join(words))
        elif style == 2:  # prose with noise spliced in
            text = rng.choice(PROSE)
            at = rng.randrange(len(text) + 1)
            noise = "".join(_pick(rng, rng.choice([CONTROL, INVISIBLE, EMOJI, CJK, SYMBOLS])) for _ in range(rng.randint(1, 4)))
            texts.append(text[:at] + noise + text[at:])
        elif style == 3:  # a long word, past the WordPiece limit of 100 characters or close to it
            length = rng.choice([95, 100, 101, 102, 130, 200])
            texts.append("".join(_pick(rng, [(0x61, 0x7A)]) for _ in range(length)))
        else:  # CJK mixed with Latin and punctuation
            texts.append("".join(_pick(rng, rng.choice([CJK, CJK, LETTERS, PUNCTUATION, SPACES])) for _ in range(rng.randint(1, 30))))
    return texts


def tokenizer_max_lengths(texts, seed=23):
    """Some cases truncate: max_length for about one text in four, else None."""
    rng = random.Random(seed)
    return [rng.choice([3, 5, 8, 16, 32]) if rng.random() < 0.25 else None for _ in texts]


MINILM_SENTENCES = PROSE + [
    "how do magnets work",
    "A man is playing a guitar.",
    "A woman is slicing an onion.",
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
    "Das ist ein deutscher Satz über das Wetter.",
    "C'est une phrase en français.",
    "東京は日本の首都です。",
    "emoji only 🎉🎉🎉",
    "",
    "word " * 300,  # past max_seq_length 256: truncated
]

#!/usr/bin/env bash
# Scripts/check-syntax.sh — every Python this project runs compiles under the machine's Python (3.11 on Debian):
# each Scripts/*.py, and each inline program in Scripts/*.sh — heredocs fed to python (`python3 - … <<'PY'`) and
# `python … -c '…'` snippets (shell variables inside double quotes are replaced by a number first). Uses
# python3.11 when installed (3.12 accepts what 3.11 refuses, e.g. backslashes inside f-string expressions), else
# python3, or $PYTHON. Every shell script (Scripts/*.sh, .ci/run) parses under `bash -n` as well. Prints one line
# per failure (file:line and the parser's message); exit status 1 if any.
# usage: Scripts/check-syntax.sh
set -euo pipefail
cd "$(dirname "$0")/.."
shell_failures=0
for script in Scripts/*.sh .ci/run; do
  bash -n "$script" || shell_failures=1
done
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
trap '[ $shell_failures = 0 ] || { echo "check-syntax: a shell script does not parse (above)" >&2; exit 1; }' EXIT
"$python" - Scripts/*.py Scripts/*.sh <<'PY'
import os, re, sys

PYTHON = r'(?:python[0-9.]*|\$\{?[A-Za-z_]*(?:venv|VENV|python)[A-Za-z_]*\}?(?:/bin/python[0-9.]*)?)"?'
HEREDOC = re.compile(PYTHON + r'\s+-\s.*?(?<!<)<<-?\s*([\'"]?)(\w+)\1(?!<)')
DASH_C = re.compile(PYTHON + r'\s+-c\s+')


def shell_word(text, start):
    """The shell word at text[start:] (single- or double-quoted, or bare): its value, with $-expansions of a
    double-quoted one replaced by 1, and where it ends."""
    quote = text[start]
    if quote == "'":
        end = text.index("'", start + 1)
        return text[start + 1:end], end + 1
    if quote != '"':
        end = start
        while end < len(text) and not text[end].isspace():
            end += 1
        return text[start:end], end
    out, i = [], start + 1
    while text[i] != '"':
        c = text[i]
        if c == "\\" and text[i + 1] in '"\\$`\n':
            out.append(text[i + 1] if text[i + 1] != "\n" else "")
            i += 2
        elif c == "$" and text[i + 1] == "(":   # $(…): nested quotes are the shell's business
            depth, i = 1, i + 2
            while depth:
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            out.append("1")
        elif c == "$":
            m = re.match(r"\$(\{[^}]*\}|[A-Za-z_][A-Za-z_0-9]*|[0-9#?@*])", text[i:])
            out.append("1")
            i += len(m.group(0)) if m else 1
        else:
            out.append(c)
            i += 1
    return "".join(out), i + 1


def programs(path):
    """(line number, source) of every Python program in a file."""
    text = open(path, encoding="utf-8").read()
    if path.endswith(".py"):
        yield 1, text
        return
    lines = text.split("\n")
    for n, line in enumerate(lines):
        if line.lstrip().startswith("#"):
            continue
        m = HEREDOC.search(line)
        if m:
            tag, body = m.group(2), []
            for following in lines[n + 1:]:
                if following.strip() == tag:
                    break
                body.append(following)
            else:
                raise SyntaxError(f"heredoc {tag} opened here is never closed")
            yield n + 2, "\n".join(body)   # the body starts on the next line
    for m in DASH_C.finditer(text):
        n = text.count("\n", 0, m.start())
        if lines[n].lstrip().startswith("#"):
            continue
        source, _ = shell_word(text, m.end())
        yield n + 1, source


failures = checked = 0
for path in sys.argv[1:]:
    try:
        found = list(programs(path))
    except (SyntaxError, ValueError, IndexError) as e:
        print(f"{path}: cannot read its inline Python: {e}")
        failures += 1
        continue
    for first, source in found:
        checked += 1
        if os.environ.get("VERBOSE"):
            print(f"{path}:{first}: {len(source.splitlines())} lines", file=sys.stderr)
        try:
            compile(source, "<inline>", "exec")
        except SyntaxError as e:
            offending = source.split("\n")[(e.lineno or 1) - 1].strip()
            print(f"{path}:{first + (e.lineno or 1) - 1}: {e.msg}: {offending}")
            failures += 1
print(f"check-syntax: Python {sys.version.split()[0]}, {checked} programs in {len(sys.argv) - 1} files, "
      f"{failures} failing", file=sys.stderr)
sys.exit(1 if failures else 0)
PY

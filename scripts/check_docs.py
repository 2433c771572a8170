"""Checks that the docs say what the code does. Markers in the Markdown say what to check:

  <!-- excerpt: PATH -->        the fenced block that follows appears, line for line
                                (indentation included), in the file PATH
  <!-- output: PROGRAM ARGS --> the fenced block that follows is what the program
                                (a path under the build folder) prints; a line "..."
                                in the block stands for any number of lines
  <!-- messages -->             every `code span` in the table or list that follows
                                is an error message (or a part of one between "..."
                                and "<...>" placeholders) that a source file contains

Without a marker, every quotation set in italics, *"..."* (it may run over a line
break), is an error message as well, and is checked the same way.

Usage: check_docs.py SOURCE_ROOT BUILD_ROOT. Prints one line per failed check and a
summary; exit status 1 if any failed. A doc block edited against the code fails it.
"""
import pathlib
import re
import subprocess
import sys

MARKER = re.compile(r"<!--\s*(excerpt|output|messages)\s*:?\s*(.*?)\s*-->")
FENCE = re.compile(r"^```")
SOURCES = ("autograd", "nn", "models", "examples", "bench")


def fenced_block_after(lines, i):
    """The lines of the first fenced block after line i, and the index after it."""
    j = i + 1
    while j < len(lines) and not FENCE.match(lines[j]):
        j += 1
    start = j + 1
    end = start
    while end < len(lines) and not FENCE.match(lines[end]):
        end += 1
    return lines[start:end], end + 1


def contains_lines(haystack, needle):
    """Whether the lines `needle` occur contiguously in `haystack` (trailing spaces ignored)."""
    h = [l.rstrip() for l in haystack]
    n = [l.rstrip() for l in needle]
    if not n:
        return True
    for k in range(len(h) - len(n) + 1):
        if h[k:k + len(n)] == n:
            return True
    return False


def matches_with_gaps(output, block):
    """Whether output contains the block's segments in order; "..." lines are gaps."""
    segments, current = [], []
    for line in block:
        if line.strip() == "...":
            segments.append(current)
            current = []
        else:
            current.append(line.rstrip())
    segments.append(current)
    out = [l.rstrip() for l in output]
    pos = 0
    for seg_index, seg in enumerate(segments):
        if not seg:
            continue
        found = -1
        for k in range(pos, len(out) - len(seg) + 1):
            if out[k:k + len(seg)] == seg:
                found = k
                break
            if seg_index == 0 and len(segments) == 1:
                break  # no gaps: the block must be the output from the start
        if found < 0:
            return False
        pos = found + len(seg)
    return True


def source_text(root):
    """The string literals of every source file, adjacent literals ("a" "b") joined."""
    literal = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
    texts = []
    for folder in SOURCES:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in (".cpp", ".hpp"):
                text = re.sub(r'"\s*\n\s*"', "", path.read_text(encoding="utf-8"))
                texts.extend(literal.findall(text))
    return "\n".join(texts)


def said(fragment, code):
    """Whether the code says the fragment, in one literal or in two joined by a value
    (the fragment split at one word boundary, each side found). A leading name and
    colon ("mul: ...", "GRU: ...") may be a value the code joins in front."""
    if fragment in code:
        return True
    named = re.match(r"[\w:]+(?=: )", fragment)
    if named and len(fragment) - named.end() >= 12 and said(fragment[named.end():], code):
        return True
    for m in re.finditer(r" ", fragment):
        left, right = fragment[:m.start()].strip(), fragment[m.end():].strip()
        if len(left) >= 6 and len(right) >= 6 and left in code and right in code:
            return True
    return False


def message_fragments(message):
    """The literal parts of a quoted message: split at "...", "<...>" placeholders and
    the places where the code joins a value in (a quoted name, a shape, a number)."""
    parts = re.split(r"\.\.\.|…|<[^>]*>|'[^']*'|\[[0-9, ]*\]|\b\d+(?:\.\d+)?\b", message)
    return [p.strip() for p in parts if len(p.strip()) >= 12]


def main(source_root, build_root):
    root = pathlib.Path(source_root)
    build = pathlib.Path(build_root)
    docs = sorted((root / "docs").glob("*.md")) + [root / "README.md"]
    code = None
    failures, checks = [], 0
    for doc in docs:
        lines = doc.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            m = MARKER.search(line)
            if not m:
                continue
            kind, arg = m.group(1), m.group(2)
            where = f"{doc.relative_to(root)}:{i + 1}"
            checks += 1
            if kind == "excerpt":
                block, _ = fenced_block_after(lines, i)
                target = root / arg
                if not target.exists():
                    failures.append(f"{where}: excerpt of {arg}, which does not exist")
                elif not contains_lines(target.read_text(encoding="utf-8").splitlines(), block):
                    failures.append(f"{where}: the excerpt is not in {arg} as quoted")
            elif kind == "output":
                block, _ = fenced_block_after(lines, i)
                program, *args = arg.split()
                if not (build / program).exists():
                    failures.append(f"{where}: {program} is not built (in {build})")
                    continue
                run = subprocess.run([str(build / program), *args], capture_output=True, text=True, timeout=120)
                if run.returncode != 0:
                    failures.append(f"{where}: {arg} exited with {run.returncode}")
                elif not matches_with_gaps(run.stdout.splitlines(), block):
                    failures.append(f"{where}: the block is not what {arg} prints")
            else:  # messages: the code spans of the table or list that follows
                if code is None:
                    code = source_text(root)
                j = i + 1
                while j < len(lines) and not lines[j].strip():
                    j += 1
                while j < len(lines) and lines[j].strip():
                    for span in re.findall(r"`([^`]+)`", lines[j]):
                        for fragment in message_fragments(span):
                            if not said(fragment, code):
                                failures.append(f"{doc.relative_to(root)}:{j + 1}: no source file says \"{fragment}\"")
                    j += 1
        # Unmarked: every *"..."* quotation is an error message the code contains.
        text = "\n".join(lines)
        for m in re.finditer(r'\*"(.+?)"\*', text, re.DOTALL):
            checks += 1
            if code is None:
                code = source_text(root)
            line_no = text.count("\n", 0, m.start()) + 1
            for fragment in message_fragments(" ".join(m.group(1).split())):
                if not said(fragment, code):
                    failures.append(f"{doc.relative_to(root)}:{line_no}: no source file says \"{fragment}\"")
    for f in failures:
        print(f)
    print(f"docs: {checks} marked blocks checked, {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

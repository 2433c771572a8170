#!/usr/bin/env python3
"""Builds the English-Spanish Bible corpus from two SWORD modules exported with mod2imp.

    python3 scripts/bible_corpus.py EN.imp ES.imp OUT_DIR

EN.imp is `mod2imp engWEB2015eb` (World English Bible, Debian package sword-text-web),
ES.imp is `mod2imp spaRV1909eb` (Reina-Valera 1909, sword-text-sparv). scripts/get-data
runs the exports and this script. OUT_DIR receives, for each split in train, valid, test:
    SPLIT.en  SPLIT.es   one verse per line, line i of one is the translation of line i of the other
    SPLIT.ref            the verse of line i ("John 3:16")
The text is the verse as printed: cased, punctuation attached as in the Bible; the
tokeniser lives in C++ (models/data/parallel.hpp). docs/translation_data.md explains
every rule below and gives the resulting counts. Only the Python 3 standard library.

Steps:
 1. Read each export: `$$$Book C:V` starts an entry, the OSIS markup of the verse follows.
 2. Turn markup into text (verse_texts): drop notes (footnotes, cross references),
    non-canonical titles (section headings, "BOOK 2" in Psalms) and speaker labels
    (Song of Solomon), keep every other element's text, drop Strong's numbers (they live
    in attributes, which are never text). Where an element boundary separated two words
    (`God<note>..</note><w>created`, RV's `FUÉ</w><transChange>que`), a space is put back;
    never before closing punctuation; dashes (— –) get no space either side. Text after a
    chapter's end milestone (the WEB glossary after Revelation 22:21) belongs to no verse. Canonical psalm titles ("A Psalm by
    David.") are kept: the Reina-Valera prints them as plain text inside verse 1, so
    dropping them on one side only would misalign verse 1 of 118 psalms.
 3. Reina-Valera typography: the first word(s) of each chapter are in capitals (a drop cap:
    "EN el principio", "Y JEHOVÁ dijo"); they are re-cased (recase_drop_caps). The
    subscriptions appended to the last verse of Paul's letters and Hebrews after the final
    "Amén." ("Fué escrita á los Hebreos desde Italia...") are not in the WEB and are cut.
 4. Keep verses present in both modules, non-empty on both sides, in the 66 books of the
    Protestant canon (the WEB's deuterocanonical books are skipped).
 5. The modules use different versifications (WEB: NRSVA, RV: KJV keys over a text that
    follows the Spanish/Hebrew verse divisions in places, e.g. Numbers 13, 1 Samuel 24,
    Hosea 12, Jonah 2). Within each book the two verse sequences are aligned by length
    (Gale & Church 1993); a verse is kept only if the alignment pairs it one-to-one with
    the verse of the same number (or inside a group of the same verses on both sides).
 6. Split by whole books (VALID_BOOKS, TEST_BOOKS; everything else is train).
"""

import html
import math
import os
import re
import sys

# The 66 books as the SWORD library names them (both modules use these keys).
CANON = [
    "Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua", "Judges", "Ruth",
    "I Samuel", "II Samuel", "I Kings", "II Kings", "I Chronicles", "II Chronicles", "Ezra",
    "Nehemiah", "Esther", "Job", "Psalms", "Proverbs", "Ecclesiastes", "Song of Solomon",
    "Isaiah", "Jeremiah", "Lamentations", "Ezekiel", "Daniel", "Hosea", "Joel", "Amos",
    "Obadiah", "Jonah", "Micah", "Nahum", "Habakkuk", "Zephaniah", "Haggai", "Zechariah",
    "Malachi", "Matthew", "Mark", "Luke", "John", "Acts", "Romans", "I Corinthians",
    "II Corinthians", "Galatians", "Ephesians", "Philippians", "Colossians", "I Thessalonians",
    "II Thessalonians", "I Timothy", "II Timothy", "Titus", "Philemon", "Hebrews", "James",
    "I Peter", "II Peter", "I John", "II John", "III John", "Jude", "Revelation of John",
]
# The held-out books: whole books, so no chapter of a held-out book leaks into training,
# and a mix of genres in each (OT narrative, poetry or wisdom, prophecy, NT narrative,
# letters). Books with near-verbatim parallels elsewhere (Kings/Chronicles, the synoptic
# gospels) stay in train, so the held-out text is not memorisable from a parallel passage.
VALID_BOOKS = ["Joshua", "Lamentations", "Acts", "James"]
TEST_BOOKS = ["Ruth", "Ecclesiastes", "Daniel", "John", "Hebrews"]
# Books whose last verse carries a Reina-Valera subscription after "Amén.".
SUBSCRIBED = ["Romans", "I Corinthians", "II Corinthians", "Galatians", "Ephesians",
              "Philippians", "Colossians", "I Thessalonians", "II Thessalonians", "I Timothy",
              "II Timothy", "Titus", "Philemon", "Hebrews"]
# Psalm 119:1 opens with the acrostic letter ALEPH, in capitals in both texts: not a drop cap
# (the other acrostic letters head verses 9, 17, ..., never a chapter's first verse).
ACROSTIC = {"ALEPH"}

KEY = re.compile(r"^(.+) (\d+):(\d+)$")
TAG = re.compile(r"<(/?)([A-Za-z]+)\b([^>]*?)(/?)>")
BOUNDARY = "\x01"  # where an element started or ended; becomes a space or nothing
OPENING = set("([{“‘¿¡«")
CLOSING = set(".,;:!?)]}”’»…")


class CorpusError(Exception):
    pass


def read_imp(path):
    """[(key, markup)] in file order. Keys are 'Book C:V' or headings like '[ Module Heading ]'."""
    entries = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("$$$"):
                entries.append([line[3:], []])
            elif entries:
                entries[-1][1].append(line)
            elif line.strip():
                raise CorpusError(f"{path}:{number}: text before the first $$$ key (not a mod2imp export?)")
    if not any(KEY.match(k) for k, _ in entries):
        raise CorpusError(f"{path}: no '$$$Book C:V' entries (not a mod2imp export of a Bible?)")
    return [(k, "\n".join(lines)) for k, lines in entries]


def dropped(name, attrs):
    """Elements whose text is not verse text."""
    if name in ("note", "speaker"):
        return True
    return name == "title" and 'canonical="true"' not in attrs


def verse_texts(entries, path):
    """{key: text} for every entry, markup removed. Elements may span entries (a <list> in
    the WEB, a poetry <lg>), so one element stack runs through the whole file."""
    stack = []  # (name, dropped) of the open elements
    texts = {}
    for key, markup in entries:
        out, pos, ended = [], 0, False
        hidden = any(d for _, d in stack)
        for m in TAG.finditer(markup):
            if not hidden and not ended:
                out.append(markup[pos:m.start()])
            pos = m.end()
            close, name, attrs, empty = m.groups()
            if close:
                if not stack or stack[-1][0] != name:
                    open_name = stack[-1][0] if stack else "nothing"
                    raise CorpusError(f"{path}: {key}: </{name}> closes <{open_name}>")
                stack.pop()
            elif not empty:
                stack.append((name, dropped(name, attrs)))
            elif name == "chapter" and "eID=" in attrs:
                ended = True  # what follows a chapter's end (a glossary, the next intro) is no verse
            hidden = any(d for _, d in stack)
            if name != "w" and not hidden and not ended:
                out.append(BOUNDARY)
        if not hidden and not ended:
            out.append(markup[pos:])
        texts[key] = join_boundaries(html.unescape("".join(out)))
    if stack:
        raise CorpusError(f"{path}: <{stack[-1][0]}> is never closed")
    return texts


def join_boundaries(text):
    """Resolves BOUNDARY marks and whitespace runs into single spaces or nothing."""
    def resolve(m):
        left = m.string[m.start() - 1] if m.start() > 0 else ""
        right = m.string[m.end()] if m.end() < len(m.string) else ""
        if not left or not right or left in OPENING or right in CLOSING:
            return ""
        if any(c.isspace() for c in m.group(0)):
            return " "  # the source had a space here
        # Two elements touching: a space only between word ends and word starts.
        return " " if (left.isalnum() or left in CLOSING) and (right.isalnum() or right in OPENING) else ""
    text = re.sub(r"[\s\x01]*\x01[\s\x01]*", resolve, text)
    # Dashes are unspaced in the WEB ("the ground—man") but for 33 stray spaces, mostly
    # at a poetry line end ("work— neither"): one convention, which the detokeniser follows.
    text = re.sub(r"\s*([—–])\s*", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def verses(texts):
    """{(book, chapter, verse): text} for the canonical books, verse and chapter numbers > 0."""
    out = {}
    for key, text in texts.items():
        m = KEY.match(key)
        if m and m.group(1) in CANON and int(m.group(2)) > 0 and int(m.group(3)) > 0:
            out[(m.group(1), int(m.group(2)), int(m.group(3)))] = text
    return out


CAPS = re.compile(r"[^\W\d_]{2,}")


def recase_drop_caps(es):
    """Re-cases the capitalised opening of each chapter of the Reina-Valera (in place).
    The run of all-capital words first found in verse 1 (after a psalm title, say) becomes:
    capitalised where a sentence starts (start of the verse, after . : ! ? ¿ ¡), else the
    form the word takes most often elsewhere in the text (lower case for "FUÉ", "Jehová"
    for "JEHOVÁ"). Returns the number of chapters changed."""
    forms = {}
    for text in es.values():
        for w in CAPS.findall(text):
            if not w.isupper():
                forms.setdefault(w.lower(), {}).setdefault(w, 0)
                forms[w.lower()][w] += 1

    def usual(word):
        seen = forms.get(word.lower(), {})
        return max(seen, key=lambda f: (seen[f], f == word.lower())) if seen else word.lower()

    changed = 0
    for key, text in es.items():
        if key[2] != 1:
            continue
        words = [m for m in CAPS.finditer(text) if m.group(0).isupper() and m.group(0) not in ACROSTIC]
        if not words:
            continue
        run = [words[0]]
        for m in words[1:]:
            if text[run[-1].end():m.start()] != " ":
                break
            run.append(m)
        pieces, pos = [], 0
        for m in run:
            before = text[:m.start()].rstrip()
            sentence_start = not before or before[-1] in ".:!?¿¡"
            word = usual(m.group(0))
            pieces += [text[pos:m.start()], word[0].upper() + word[1:] if sentence_start else word]
            pos = m.end()
        es[key] = "".join(pieces) + text[pos:]
        changed += 1
    return changed


def cut_subscriptions(es):
    """Cuts the text after the last "Amén." of the last verse of the SUBSCRIBED books."""
    cut = 0
    for book in SUBSCRIBED:
        keys = sorted(k for k in es if k[0] == book and es[k])
        if not keys:
            raise CorpusError(f"the Spanish text has no verses of {book}")
        text = es[keys[-1]]
        end = text.rfind("Amén.")
        if end >= 0 and end + 5 < len(text):
            es[keys[-1]] = text[:end + 5]
            cut += 1
    return cut


# ---- Gale & Church (1993), "A program for aligning sentences in bilingual corpora",
# Computational Linguistics 19(1): the cost of pairing l1 characters with l2 characters is
# -log P(|delta|) with delta = (l2 - c l1) / sqrt(l1 s2), plus -log of the bead's prior
# (their table 5). c and s2 are estimated from this corpus instead of their 1 and 6.8.
PRIORS = {(1, 1): 0.89, (1, 0): 0.0099, (0, 1): 0.0099, (2, 1): 0.089 / 2, (1, 2): 0.089 / 2, (2, 2): 0.011}
BAND = 30  # verses either side of the diagonal the alignment may visit (the largest offset found: 9, in Job)


def length_model(pairs):
    """c = characters of Spanish per character of English; s2 = variance per character,
    from the median squared deviation (the median of a chi-square(1) is 0.455)."""
    c = sum(len(s) for _, s in pairs) / sum(len(e) for e, _ in pairs)
    dev = sorted((len(s) - c * len(e)) ** 2 / len(e) for e, s in pairs)
    return c, dev[len(dev) // 2] / 0.455


def bead_cost(l1, l2, c, s2):
    if l1 == 0 and l2 == 0:
        return 0.0
    delta = (l2 - c * l1) / math.sqrt(max((l1 + l2 / c) / 2, 1) * s2)
    return -math.log(max(math.erfc(abs(delta) / math.sqrt(2)), 1e-300))


def align(en_lengths, es_lengths, c, s2):
    """Minimum-cost bead sequence [(i0, i1, j0, j1)]: English verses i0..i1 pair with
    Spanish verses j0..j1, covering both sequences in order."""
    n, m = len(en_lengths), len(es_lengths)
    if abs(n - m) > BAND:
        raise CorpusError(f"alignment failed: {n} and {m} verses differ by more than {BAND}")
    en_sum, es_sum = [0], [0]  # prefix sums: characters of verses [0, i)
    for x in en_lengths:
        en_sum.append(en_sum[-1] + x)
    for x in es_lengths:
        es_sum.append(es_sum[-1] + x)
    beads_priors = [(a, b, -math.log(p)) for (a, b), p in PRIORS.items()]
    cost = {(0, 0): 0.0}
    back = {}
    for i in range(n + 1):
        for j in range(max(0, i - BAND), min(m, i + BAND) + 1):
            best, how = math.inf, None
            for a, b, penalty in beads_priors:
                prev = cost.get((i - a, j - b))
                if prev is None or a > i or b > j:
                    continue
                v = prev + penalty + bead_cost(en_sum[i] - en_sum[i - a], es_sum[j] - es_sum[j - b], c, s2)
                if v < best:
                    best, how = v, (a, b)
            if how is not None:
                cost[(i, j)], back[(i, j)] = best, how
    beads, i, j = [], n, m
    while i or j:
        a, b = back[(i, j)]
        beads.append((i - a, i, j - b, j))
        i, j = i - a, j - b
    return beads[::-1]


def aligned_keys(en, es):
    """The verse keys kept: in both texts, non-empty, and confirmed by the alignment.
    Returns (kept keys in canonical order, number in both and non-empty)."""
    both = [k for k in en if k in es and en[k] and es[k]]
    c, s2 = length_model([(en[k], es[k]) for k in both])
    kept = []
    for book in CANON:
        en_keys = sorted(k for k in en if k[0] == book and en[k])
        es_keys = sorted(k for k in es if k[0] == book and es[k])
        if not en_keys and not es_keys:
            continue
        if not en_keys or not es_keys:
            raise CorpusError(f"{book}: no verses in the {'English' if not en_keys else 'Spanish'} text")
        beads = align([len(en[k]) for k in en_keys], [len(es[k]) for k in es_keys], c, s2)
        for i0, i1, j0, j1 in beads:
            if en_keys[i0:i1] == es_keys[j0:j1]:
                kept += en_keys[i0:i1]
    return kept, len(both)


def write_split(out_dir, name, keys, en, es):
    for suffix, lines in (("en", [en[k] for k in keys]), ("es", [es[k] for k in keys]),
                          ("ref", [f"{k[0]} {k[1]}:{k[2]}" for k in keys])):
        for line in lines:
            if not line or "\n" in line:
                raise CorpusError(f"{name}.{suffix}: an empty or multi-line verse")
        with open(os.path.join(out_dir, f"{name}.{suffix}"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")


def main(argv):
    if len(argv) != 4:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    en_path, es_path, out_dir = argv[1:]
    en = verses(verse_texts(read_imp(en_path), en_path))
    es = verses(verse_texts(read_imp(es_path), es_path))
    missing = [b for b in CANON if not any(k[0] == b for k in en) or not any(k[0] == b for k in es)]
    if missing:
        raise CorpusError(f"books missing from the exports: {', '.join(missing)} (the wrong modules?)")
    recased = recase_drop_caps(es)
    subscriptions = cut_subscriptions(es)
    kept, in_both = aligned_keys(en, es)

    order = {b: i for i, b in enumerate(CANON)}
    kept.sort(key=lambda k: (order[k[0]], k[1], k[2]))
    splits = {
        "train": [k for k in kept if k[0] not in VALID_BOOKS + TEST_BOOKS],
        "valid": [k for k in kept if k[0] in VALID_BOOKS],
        "test": [k for k in kept if k[0] in TEST_BOOKS],
    }
    os.makedirs(out_dir, exist_ok=True)
    for name, keys in splits.items():
        write_split(out_dir, name, keys, en, es)
    print(f"bible: {in_both} verses in both modules and non-empty; {in_both - len(kept)} dropped by the "
          f"verse alignment; {recased} drop caps re-cased; {subscriptions} subscriptions cut")
    for name, keys in splits.items():
        words_en = sum(len(en[k].split()) for k in keys)
        words_es = sum(len(es[k].split()) for k in keys)
        print(f"bible: {name:5s} {len(keys):6d} verses, {words_en / len(keys):.1f} English and "
              f"{words_es / len(keys):.1f} Spanish words per verse (split on spaces)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (CorpusError, OSError, UnicodeDecodeError) as e:
        print(f"bible_corpus.py: {e}", file=sys.stderr)
        sys.exit(1)

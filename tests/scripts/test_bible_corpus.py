"""scripts/bible_corpus.py on small hand-written exports: markup to text, drop caps,
subscriptions and the verse alignment. Run: python3 tests/scripts/test_bible_corpus.py"""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import bible_corpus as bc  # noqa: E402


def texts(*entries):
    return bc.verse_texts(list(entries), "test.imp")


class MarkupToText(unittest.TestCase):
    def test_a_note_between_two_words_leaves_one_space_and_its_text_is_dropped(self):
        t = texts(("Genesis 1:1", '<w lemma="strong:H0430">God</w><note placement="foot">'
                                  '<reference type="annotateRef">1:1 </reference>Hebrew “Elohim”.</note>'
                                  '<w lemma="strong:H1254">created</w> the earth<note>x</note>.'))
        self.assertEqual(t["Genesis 1:1"], "God created the earth.")

    def test_added_words_are_kept_and_separated_but_not_from_punctuation(self):
        t = texts(("Ezekiel 1:1", '<w lemma="strong:H1961">Y FUÉ</w><transChange type="added">que</transChange>'
                                  '<w>á los treinta</w> <transChange type="added">años</transChange>, en'))
        self.assertEqual(t["Ezekiel 1:1"], "Y FUÉ que á los treinta años, en")

    def test_headings_and_speakers_go_canonical_psalm_titles_stay(self):
        t = texts(("Psalms 3:1", '<title canonical="true" type="psalm">A Psalm by David.</title> <lg sID="a"/>'
                                 '<l level="1" sID="b"/>Yahweh, how<l eID="b" level="1"/>'),
                  ("Psalms 3:2", '<title type="x-heading">Not scripture</title><speaker>Beloved</speaker> Many'
                                 ' say<lg eID="a"/>'))
        self.assertEqual(t["Psalms 3:1"], "A Psalm by David. Yahweh, how")
        self.assertEqual(t["Psalms 3:2"], "Many say")

    def test_text_after_a_chapter_end_belongs_to_no_verse_and_dashes_are_unspaced(self):
        t = texts(("Revelation of John 22:21", 'Amen. <chapter eID="Rev.22"/> <div type="glossary"/>Abaddon is'),
                  ("Exodus 20:10", 'any work— <l sID="x"/>neither you<l eID="x"/>'))
        self.assertEqual(t["Revelation of John 22:21"], "Amen.")
        self.assertEqual(t["Exodus 20:10"], "any work—neither you")

    def test_a_closing_tag_that_closes_the_wrong_element_is_refused(self):
        with self.assertRaisesRegex(bc.CorpusError, r"test.imp: John 1:1: </note> closes <w>"):
            texts(("John 1:1", "<w>In</note>"))


class SpanishTypography(unittest.TestCase):
    def test_drop_caps_take_their_usual_form_and_a_capital_at_a_sentence_start(self):
        es = {("Genesis", 1, 1): "EN el principio", ("Genesis", 7, 1): "Y JEHOVÁ dijo á Noé",
              ("Genesis", 7, 2): "y Jehová vió", ("Job", 13, 1): "HE AQUÍ que",
              ("Psalms", 119, 1): "ALEPH. BIENAVENTURADOS los perfectos", ("Exodus", 6, 2): "Yo JEHOVÁ"}
        self.assertEqual(bc.recase_drop_caps(es), 4)
        self.assertEqual(es[("Genesis", 1, 1)], "En el principio")
        self.assertEqual(es[("Genesis", 7, 1)], "Y Jehová dijo á Noé")
        self.assertEqual(es[("Job", 13, 1)], "He aquí que")
        self.assertEqual(es[("Psalms", 119, 1)], "ALEPH. Bienaventurados los perfectos")
        self.assertEqual(es[("Exodus", 6, 2)], "Yo JEHOVÁ")  # not a chapter's first verse

    def test_subscriptions_after_the_last_amen_are_cut(self):
        es = {(b, 1, 1): "Gracia. Amén." for b in bc.SUBSCRIBED}
        es[("Hebrews", 13, 25)] = "La gracia sea con todos vosotros. Amén. Fué escrita á los Hebreos."
        self.assertEqual(bc.cut_subscriptions(es), 1)
        self.assertEqual(es[("Hebrews", 13, 25)], "La gracia sea con todos vosotros. Amén.")


class Alignment(unittest.TestCase):
    def test_verses_numbered_one_apart_are_dropped_and_the_rest_kept(self):
        # As RV Numbers 13: its verse 2 holds the WEB's verse 1 (the RV has no verse 2
        # here, its numbers run one ahead), and its last verse holds the WEB's last two.
        lengths = [300, 60, 500, 90, 400, 50, 350, 80, 200, 120]
        en = {("Numbers", 13, v): "x" * n for v, n in enumerate(lengths, 1)}
        es_lengths = lengths[:8] + [lengths[8] + lengths[9]]
        es = {("Numbers", 13, v): "y" * round(n * 0.96) for v, n in zip([1, 3, 4, 5, 6, 7, 8, 9, 10], es_lengths)}
        for v in range(1, 30):  # a well-numbered chapter after it
            n = 50 + v * 13 % 200
            en[("Numbers", 14, v)], es[("Numbers", 14, v)] = "x" * n, "y" * round(n * 0.96)
        kept, in_both = bc.aligned_keys(en, es)
        self.assertEqual(in_both, 9 + 29)
        self.assertEqual([k for k in kept if k[1] == 13], [("Numbers", 13, 1)])
        self.assertEqual([k for k in kept if k[1] == 14], [("Numbers", 14, v) for v in range(1, 30)])

    def test_identical_numbering_aligns_one_to_one(self):
        lengths = [40, 120, 60, 200, 80]
        beads = bc.align(lengths, [round(x * 0.96) for x in lengths], 0.96, 1.7)
        self.assertEqual(beads, [(i, i + 1, i, i + 1) for i in range(5)])


class EndToEnd(unittest.TestCase):
    def test_a_tiny_bible_is_split_by_books_aligned_line_for_line(self):
        def export(lang):
            lines = ["$$$[ Module Heading ]", ""]
            for book in bc.CANON:
                lines += [f"$$$${book} 0:0", "<title>Intro</title>"]
                for v in (1, 2):
                    text = f"{book} {v} in {lang} with some words to have a length."
                    if lang == "es" and v == 1:
                        text = "EN " + text
                    lines += [f"$$${book} 1:{v}", f"<w lemma=\"strong:H1\">{text}</w>"]
            return "\n".join(lines) + "\n"

        with tempfile.TemporaryDirectory() as d:
            for lang in ("en", "es"):
                with open(os.path.join(d, lang + ".imp"), "w", encoding="utf-8") as f:
                    f.write(export(lang))
            out = os.path.join(d, "out")
            self.assertEqual(bc.main(["bible_corpus.py", os.path.join(d, "en.imp"), os.path.join(d, "es.imp"), out]), 0)
            with open(os.path.join(out, "test.ref"), encoding="utf-8") as f:
                refs = f.read().splitlines()
            with open(os.path.join(out, "test.es"), encoding="utf-8") as f:
                es = f.read().splitlines()
            self.assertEqual(refs[:2], ["Ruth 1:1", "Ruth 1:2"])
            self.assertEqual(len(refs), 2 * len(bc.TEST_BOOKS))
            self.assertEqual(es[0], "En Ruth 1 in es with some words to have a length.")

    def test_an_export_without_verses_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "x.imp")
            with open(p, "w") as f:
                f.write("$$$[ Module Heading ]\n\n")
            with self.assertRaisesRegex(bc.CorpusError, "no '\\$\\$\\$Book C:V' entries"):
                bc.read_imp(p)


if __name__ == "__main__":
    unittest.main()

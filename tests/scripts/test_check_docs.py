"""scripts/check_docs.py, the docs' self-check, on a small made-up project: each kind of
check passes on a doc that says what the code does and fails once the doc or the code
is edited against the other. Run: python3 tests/scripts/test_check_docs.py"""

import contextlib
import io
import os
import pathlib
import stat
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import check_docs  # noqa: E402

SOURCE = textwrap.dedent('''\
    // y = a * b
    Tensor mul(const Tensor& a, const Tensor& b) {
        check_broadcast("mul", a, b);
        if (bad) throw Error(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                             " cannot be broadcast together");
        return record("mul", a * b);
    }
    ''')

PROGRAM = "#!/bin/sh\necho 'L = 1.75'\necho 'tape: 2 entries'\necho '  #0  mul'\necho '  #1  add'\n"


class CheckDocs(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = pathlib.Path(self.tmp.name) / "src"
        self.build = pathlib.Path(self.tmp.name) / "build"
        (self.root / "docs").mkdir(parents=True)
        (self.root / "autograd").mkdir()
        (self.root / "autograd" / "ops.cpp").write_text(SOURCE)
        (self.root / "README.md").write_text("# readme\n")
        (self.build / "examples").mkdir(parents=True)
        program = self.build / "examples" / "prog"
        program.write_text(PROGRAM)
        program.chmod(program.stat().st_mode | stat.S_IXUSR)

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, doc):
        (self.root / "docs" / "a.md").write_text(textwrap.dedent(doc))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = check_docs.main(str(self.root), str(self.build))
        return status, out.getvalue()

    def test_an_excerpt_must_appear_line_for_line(self):
        doc = """\
            <!-- excerpt: autograd/ops.cpp -->
            ```cpp
            Tensor mul(const Tensor& a, const Tensor& b) {
                check_broadcast("mul", a, b);
            ```
            """
        self.assertEqual(self.check(doc)[0], 0)
        status, out = self.check(doc.replace('"mul", a, b', '"mul", b, a'))
        self.assertEqual(status, 1)
        self.assertIn("the excerpt is not in autograd/ops.cpp as quoted", out)
        status, out = self.check(doc.replace("check_broadcast", "    check_broadcast"))  # indentation counts
        self.assertEqual(status, 1)

    def test_an_output_block_must_be_what_the_program_prints_gaps_allowed(self):
        doc = """\
            <!-- output: examples/prog -->
            ```text
            L = 1.75
            ...
              #1  add
            ```
            """
        self.assertEqual(self.check(doc)[0], 0)
        status, out = self.check(doc.replace("1.75", "1.76"))
        self.assertEqual(status, 1)
        self.assertIn("the block is not what examples/prog prints", out)
        status, out = self.check(doc.replace("...\n", ""))  # without the gap the lines are not adjacent
        self.assertEqual(status, 1)
        status, out = self.check(doc.replace("examples/prog", "examples/missing"))
        self.assertEqual(status, 1)
        self.assertIn("is not built", out)

    def test_quoted_messages_must_be_in_the_sources(self):
        doc = """\
            <!-- messages -->
            | situation | message |
            |---|---|
            | bad shapes | `add: shapes [2, 3] and [4] cannot be broadcast together` |
            """
        self.assertEqual(self.check(doc)[0], 0)
        status, out = self.check(doc.replace("cannot be broadcast", "can never be broadcast"))
        self.assertEqual(status, 1)
        self.assertIn("no source file says", out)

    def test_italic_quotations_are_messages_even_unmarked_and_across_lines(self):
        doc = """\
            The op says *"mul: shapes [2, 3] and [4]
            cannot be broadcast together"*.
            """
        self.assertEqual(self.check(doc)[0], 0)
        status, out = self.check(doc.replace("cannot be", "could not be"))
        self.assertEqual(status, 1)
        self.assertIn("a.md:1: no source file says", out)

    def test_editing_the_code_fails_the_doc_too(self):
        doc = """\
            <!-- excerpt: autograd/ops.cpp -->
            ```cpp
                return record("mul", a * b);
            ```
            """
        self.assertEqual(self.check(doc)[0], 0)
        (self.root / "autograd" / "ops.cpp").write_text(SOURCE.replace("a * b", "b * a"))
        self.assertEqual(self.check(doc)[0], 1)


if __name__ == "__main__":
    unittest.main()

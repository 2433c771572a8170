"""Turns meson's testlog.json into the plain closing line "N passed, N failed".

Each doctest program prints "[doctest] test cases: T | P passed | F failed | S skipped";
those counts are summed. A program that crashed, timed out or failed without such a
line counts as one failure; a program that is not a doctest (an example's smoke run)
counts as one test. A sanitizer report (AddressSanitizer, LeakSanitizer, UBSan's
"runtime error:") in a program's output makes it a failure even if it exited 0.
Exit status is 0 only when nothing failed.
"""
import json
import re
import sys

SUMMARY = re.compile(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed\s*\|\s*(\d+) skipped")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
SANITIZER = re.compile(r"^.*(ERROR: (Address|Leak|Memory|Thread)Sanitizer|:\d+:\d+: runtime error: ).*$", re.M)


def main(path):
    passed = failed = 0
    try:
        with open(path) as f:
            records = [json.loads(line) for line in f if line.strip()]
    except OSError as e:
        print("no test log (%s)" % e)
        records = []
    if not records:
        failed += 1
    for r in records:
        ok = r.get("result") == "OK"
        out = ANSI.sub("", (r.get("stdout") or "") + "\n" + (r.get("stderr") or ""))
        report = SANITIZER.search(out)
        if report:
            print("%s: sanitizer report: %s" % (r.get("name"), report.group(0).strip()))
            if ok:
                failed += 1  # reported but exited 0 (a sanitizer set to continue)
        m = SUMMARY.search(out)
        if m:
            p, f, skipped = int(m.group(2)), int(m.group(3)), int(m.group(4))
            passed += p
            failed += f + skipped  # a skipped test case is not a pass
            if not ok and f == 0:
                failed += 1  # exited non-zero although doctest reported no failure
        elif ok:
            passed += 1
        else:
            failed += 1
            print("%s: %s" % (r.get("name"), r.get("result")))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/meson-logs/testlog.json"))

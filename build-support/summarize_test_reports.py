"""Adds up the JUnit XML reports of `pants test --test-report` into one line:
`N passed, N failed, N skipped` (pytest's own summary is per test file under Pants)."""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

tests = failed = skipped = 0
for report in sorted(Path(sys.argv[1]).glob("*.xml")):
    for suite in ET.parse(report).getroot().iter("testsuite"):
        tests += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
print(f"{tests - failed - skipped} passed, {failed} failed, {skipped} skipped")

#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what the tests need on a fresh machine,
# runs every test through `./pants test ::`, and ends with one pytest-style summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
build-support/tools/install.sh >/dev/null
# The main job first: it also builds BuildKit once, which the tests' own Pants runs then find in
# Pants' cache instead of each building it at the same time.
./pants package pkg/init: >/dev/null
reports=dist/test/reports
rm -rf "$reports"
rc=0
./pants test --test-report --test-report-dir="$reports" "${@:-::}" || rc=$?
python3 build-support/summarize_test_reports.py "$reports" || true
exit $rc

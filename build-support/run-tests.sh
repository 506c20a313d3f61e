#!/usr/bin/env bash
# The project's test command (README, .ci/run). First the README's main job as a fresh machine runs
# it (no runc, empty caches; build-support/fresh-main-job.sh), before anything is installed; then
# the tests' own tools, then every test through `./pants test ::`, and one summary line for all.
set -euo pipefail
cd "$(dirname "$0")/.."
reports=dist/test/reports
rm -rf "$reports" && mkdir -p "$reports"
rc=0
build-support/fresh-main-job.sh "$reports/fresh-main-job.xml" || rc=$?
build-support/tools/install.sh >/dev/null
# The main job again, with the usual caches: it builds BuildKit once, which the tests' own Pants
# runs then find in Pants' cache instead of each building it at the same time.
./pants package pkg/init: >/dev/null || rc=$?
./pants test --test-report --test-report-dir="$reports" "${@:-::}" || rc=$?
python3 build-support/summarize_test_reports.py "$reports" || true
exit $rc

#!/usr/bin/env bash
# Runs the whole suite (unit, integration, e2e) against the real services started by setup.sh,
# then prints one plain "N passed, N failed" line, which CI reads whatever the runner.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache
npx vitest run --reporter=default --reporter=json --outputFile.json=.cache/vitest-report.json "$@"
status=$?
node -e '
  const fs = require("fs");
  try {
    const r = JSON.parse(fs.readFileSync(".cache/vitest-report.json", "utf8"));
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
  } catch (e) { console.log("0 passed, 1 failed (no test report: " + e.message + ")"); }
'
exit $status

#!/usr/bin/env bash
# Runs the whole suite (unit, integration, e2e) against the real services started by setup.sh,
# then prints one plain "N passed, N failed" line, which CI reads whatever the runner.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache
rm -f .cache/vitest-report*.json
npx vitest run --reporter=default --reporter=json --outputFile.json=.cache/vitest-report.json "$@"
status=$?
# Tests that restart the Docker daemon run last and alone (vitest.disruptive.config.ts), when the whole suite
# runs (no file arguments): nothing else may use Docker while the daemon goes down.
if [ $# -eq 0 ]; then
  npx vitest run --config vitest.disruptive.config.ts --reporter=default --reporter=json --outputFile.json=.cache/vitest-report-disruptive.json
  status=$(( status || $? ))
fi
node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of [".cache/vitest-report.json", ".cache/vitest-report-disruptive.json"]) {
    if (!fs.existsSync(f)) { if (f.endsWith("report.json")) failed += 1; continue; }
    try {
      const r = JSON.parse(fs.readFileSync(f, "utf8"));
      passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
    } catch (e) { failed += 1; console.log("unreadable test report " + f + ": " + e.message); }
  }
  console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
'
exit $status

#!/usr/bin/env bash
# Runs the whole suite (unit, integration, e2e) against the real services started by setup.sh,
# then prints one plain "N passed, N failed" line, which CI reads whatever the runner.
#   scripts/test.sh                  the whole suite: two lanes at once (vitest.config.ts), then the disruptive file
#   scripts/test.sh FILE...          just those files, one at a time
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache
rm -f .cache/vitest-report*.json
reports=()
pids=()
if [ $# -gt 0 ]; then
  npx vitest run --reporter=default --reporter=json --outputFile.json=.cache/vitest-report.json "$@"
  status=$?
  reports=(.cache/vitest-report.json)
else
  # Build dist/ and the images once, before the lanes (two builds at once would race).
  node --import tsx test/support/prepare.ts || exit 1
  export CLUSTERBOT_TEST_PREPARED=1
  for lane in hosts rest; do
    # Each lane's lines carry its name: the two print at once.
    ( CLUSTERBOT_TEST_LANE=$lane npx vitest run --reporter=default --reporter=json \
        --outputFile.json=.cache/vitest-report-$lane.json 2>&1 | sed -u "s/^/[$lane] /"; exit "${PIPESTATUS[0]}" ) &
    pids+=($!)
    reports+=(.cache/vitest-report-$lane.json)
  done
  status=0
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
  # Tests that restart the Docker daemon run last and alone: nothing else may use Docker while the daemon goes down.
  npx vitest run --config vitest.disruptive.config.ts --reporter=default --reporter=json --outputFile.json=.cache/vitest-report-disruptive.json
  status=$(( status || $? ))
  reports+=(.cache/vitest-report-disruptive.json)
  # The 3-minute soak, alone too (it restarts the Docker daemon): each of its checks counts as a test, a failed one fails CI.
  node --import tsx bench/soak.ts --minutes 3 --report .cache/vitest-report-soak.json
  status=$(( status || $? ))
  reports+=(.cache/vitest-report-soak.json)
fi
node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of process.argv.slice(1)) {
    // A report that is missing means its run crashed before the end: count it as a failure.
    if (!fs.existsSync(f)) { console.log("no test report " + f); failed += 1; continue; }
    try {
      const r = JSON.parse(fs.readFileSync(f, "utf8"));
      passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
    } catch (e) { console.log("unreadable test report " + f + ": " + e.message); failed += 1; }
  }
  console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "${reports[@]}"
exit $status

#!/usr/bin/env bash
# Runs the whole suite (unit, integration, e2e) against the real services started by setup.sh,
# then prints one plain "N passed, N failed" line, which CI reads whatever the runner.
#   scripts/test.sh                  the whole suite: two lanes at once (vitest.config.ts), then the disruptive file,
#                                    then the leftovers check; stops engines B and C and the registry at the end unless
#                                    KEEP_TEST_ENGINES=1 (docs/testing.md)
#   scripts/test.sh FILE...          just those files, one at a time (the engines keep running)
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
  # The helper engines (B, C: scripts/engine-b.sh) and the registry the host-lane files started, however the run ends:
  # idle JVMs of theirs would weigh on the next run's figures, and a bridge left in a cluster subnet breaks the next
  # cluster given that subnet on the main engine.
  stop_helpers() {
    trap - EXIT
    if [ "${KEEP_TEST_ENGINES:-}" = 1 ]; then return 0; fi
    local rc=0
    bash scripts/engine-b.sh stop || rc=1
    ENGINE_NAME=c bash scripts/engine-b.sh stop || rc=1
    bash scripts/registry.sh stop || rc=1
    return $rc
  }
  trap stop_helpers EXIT
  # Build dist/ and the images once, before the lanes (two builds at once would race).
  node --import tsx test/support/prepare.ts || exit 1
  # What a run killed halfway left (its database gone with it) is named now and not counted against this one.
  node --import tsx test/support/leftovers.ts --record .cache/leftovers-before.json || exit 1
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
  # Last, on every engine: a container, volume or network a test made and left fails the run, named.
  node --import tsx test/support/leftovers.ts --since .cache/leftovers-before.json --report .cache/vitest-report-leftovers.json
  status=$(( status || $? ))
  reports+=(.cache/vitest-report-leftovers.json)
  stop_helpers || status=1
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

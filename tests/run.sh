#!/usr/bin/env bash
# The whole suite as `make test` runs it: tests/unit and tests/integration in two pytest processes
# side by side. The integration tests mostly wait (on a worker, an outage, a restart, a time
# limit) and the unit tests mostly compute, so together they keep both cores busy: one after the
# other they took 13-17 min on 2 cores.
#
# Arguments go to both runs (so does PYTEST_ADDOPTS). The integration run prints as it goes; the
# unit run's output follows when both are done. The status is the first failing run's.
set -uo pipefail
cd "$(dirname "$0")/.."
pytest=${PYTEST:-.venv/bin/pytest}
unit_log=$(mktemp)
"$pytest" tests/unit "$@" >"$unit_log" 2>&1 &
unit_pid=$!
trap 'kill "$unit_pid" 2>/dev/null; rm -f "$unit_log"' EXIT

"$pytest" tests/integration "$@"
integration_status=$?
wait "$unit_pid"
unit_status=$?

echo
echo "==================== tests/unit (ran beside tests/integration) ===================="
cat "$unit_log"
echo "tests/integration: exit status $integration_status; tests/unit: exit status $unit_status"
if [ "$integration_status" -ne 0 ]; then exit "$integration_status"; fi
exit "$unit_status"

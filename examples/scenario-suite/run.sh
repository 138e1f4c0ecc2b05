#!/usr/bin/env bash
# A small scenario suite recorded by otel-sqlite, the way scenariolog's run-all.sh works:
# one run, one step span per script (retried steps get a new attempt), commands inside steps
# as nested spans, every stdout/stderr kept and searchable.
#
#   bash examples/scenario-suite/run.sh        # from anywhere; otel-sqlite must be on PATH
#
# The database is $OTEL_SQLITE_DB (default ./otel-sqlite.db). The suite fails on purpose
# (step 04 finds a missing document), so it exits 1 and the run is recorded as an error.
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v otel-sqlite >/dev/null 2>&1; then
    echo "run.sh: otel-sqlite is not on PATH (pip install -e . in the repository first)" >&2
    exit 127
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/scenario-suite.XXXXXX")"
trap 'rm -rf "$work"' EXIT

eval "$(otel-sqlite run start --name scenario-suite --attr suite=scenario-suite \
    --attr workspace="$work")"
# Ctrl-C or a kill still finishes the run, as an error.
trap 'otel-sqlite run end --exit-code 130; exit 130' INT
trap 'otel-sqlite run end --exit-code 143; exit 143' TERM

attempts_for() {  # how often a step may run before it counts as failed
    case "$1" in
        03-flaky-download) echo 2 ;;
        *) echo 1 ;;
    esac
}

failed=0
number=0
for step in "$here"/steps/*.sh; do
    name="$(basename "$step" .sh)"
    number=$((number + 1))
    attempt=1
    while :; do
        echo "== step $number: $name (attempt $attempt)"
        otel-sqlite exec --kind step --name "$name" \
            --attr harness.step.number="$number" --attr harness.step.attempt="$attempt" \
            -- bash "$step" "$work"
        status=$?
        if [ "$status" -eq 0 ] || [ "$attempt" -ge "$(attempts_for "$name")" ]; then
            break
        fi
        attempt=$((attempt + 1))
    done
    if [ "$status" -ne 0 ]; then
        echo "== step $number: $name failed (exit $status)" >&2
        failed=$((failed + 1))
    fi
done

suite_status=$(( failed > 0 ? 1 : 0 ))
otel-sqlite run end --exit-code "$suite_status"
echo "== suite done: $failed failed step(s); database: $OTEL_SQLITE_DB"
exit "$suite_status"

#!/usr/bin/env bash
# Readers calling the CLI's query commands in a loop until STOP_FILE exists.
# Usage: cli_readers.sh OTEL_SQLITE_BIN DB STOP_FILE OUT_DIR
# Rounds start once a run exists (before that, `summary latest` rightly has nothing to show);
# every failure after that is appended to OUT_DIR/cli-failures, the round count to cli-rounds.
set -u
bin=$1 db=$2 stop=$3 out=$4
export OTEL_SQLITE_DB=$db
until "$bin" summary latest > /dev/null 2>&1; do
    [ -e "$stop" ] && break
    sleep 0.05
done
rounds=0
while [ ! -e "$stop" ]; do
    for args in "runs" "summary latest" "search exec" "runs --status incomplete"; do
        # shellcheck disable=SC2086
        $bin $args > /dev/null 2>> "$out/cli-stderr" || echo "$args: exit $?" >> "$out/cli-failures"
    done
    rounds=$((rounds + 1))
done
echo "$rounds" > "$out/cli-rounds"

#!/usr/bin/env bash
# A bash harness calling `otel-sqlite exec` in a tight loop, as scenariolog does.
# Usage: exec_loop.sh OTEL_SQLITE_BIN DB LOOP COUNT FAILURES_FILE
set -u
bin=$1 db=$2 loop=$3 count=$4 failures=$5
for i in $(seq "$count"); do
    "$bin" exec --db "$db" -- echo "exec-loop $loop-$i" > /dev/null || echo "exec $i: exit $?" >> "$failures"
done

"""The read side: projections of stored spans into runs, steps, failures, costs and search.

With ``store`` (the write side) and ``retention`` (maintenance), this package is the only place
that holds SQL. Every reader (the CLI, the UI's JSON API, ``export``/``push``) calls these
functions on a read-only connection from ``otel_sqlite.storage.schema.connect_readonly``; each
returns plain JSON-ready dicts and lists (times ISO 8601 UTC, durations float ms) and raises the
typed errors of ``otel_sqlite.errors``. A ``run`` argument is any run reference: ``latest``,
``latest~N`` or a trace-id prefix of at least 4 hex digits.

- ``resolve.resolve_run(db, run)`` / ``resolve.resolve_span(db, prefix, trace_id=None)``
- ``runs.list_runs(db, name=, status=, since_ns=, text=, limit=, offset=, until_ns=)``,
  ``runs.count_runs(...)`` (same filters), ``runs.run_summary(db, run, prices=None)``
- ``steps.run_steps(db, run)`` (the step model), ``failures.run_failures(db, run)``
- ``spans.span_tree(db, run, max_depth=None)``, ``spans.span_details(db, trace_id, span_id)``,
  ``spans.artifact_content(db, artifact_id, offset=, length=, first_line=, line_count=)``
- ``logs.captured_output(db, run_or_span, stream=None)``
- ``search.search(db, query, run=None, limit=50, offset=0)``
- ``grep.Grep(db, pattern, scope=, run=, step=, ignore_case=, before=, after=, max_count=)``
  (iterate it for lines)
- ``events.list_events(db, event_type=, since_ns=, run=, attributes=, limit=)``
- ``timeline.timeline(db, key, value)``
- ``costs.costs(db, by="model", since_ns=None, prices=None)``, ``costs.trace_totals(db, ids)``,
  ``costs.call_usage(db, span_ids)``
- ``model_calls.call_figures(db, span_row_ids, prices=None)`` (one or many spans' model,
  tokens, recorded / estimated cost), ``model_calls.trace_totals(db, trace_ids)``;
  ``prices.load(path=None)`` (the price table), ``conversation.conversation(attrs, events)``
- ``diff.diff_runs(db, run_a, run_b, threshold_pct=, min_delta_ms=)``
- ``flaky.flaky_steps(db, last=20, name=None)``, ``timings.timings(db, name=None, last=None)``
- ``stats.stats(db)``, ``raw.run_sql(db, query, params=None)``
"""

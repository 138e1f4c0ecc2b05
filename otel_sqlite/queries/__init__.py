"""The read side: projections of stored spans into runs, steps, failures, costs and search.

With ``store`` (the write side), this package is the only place that holds SQL. Every reader
(the CLI, the UI's JSON API, ``export``/``push``) calls these functions on a read-only
connection from ``otel_sqlite.schema.connect_readonly``.
"""

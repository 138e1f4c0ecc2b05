"""The local web UI (``otel-sqlite ui``): a small JSON API over ``otel_sqlite.queries`` and
static pages that draw runs, waterfalls, logs, search hits and costs.

Imported only when ``ui`` runs, so no other command pays for it.
"""

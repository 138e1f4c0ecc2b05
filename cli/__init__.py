"""The otel-sqlite command line: a thin click shell over the ``otel_sqlite`` library."""

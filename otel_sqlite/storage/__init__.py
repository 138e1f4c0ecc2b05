"""Storage: the schema and its migrations, the store (the one writer of spans), and the files
beside the database.

Nothing here knows of the OTel SDK, of child processes, of OTLP or of readers: every writer
above hands ``store.Store.write`` plain ``SpanRecord``s.
"""

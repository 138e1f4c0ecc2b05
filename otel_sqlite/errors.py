"""Typed errors the library raises; the CLI turns each into one sentence and a non-zero exit."""

from __future__ import annotations


class OtelSqliteError(Exception):
    """Base class: its message is a complete sentence meant for a person."""


class DatabaseError(OtelSqliteError):
    """The database cannot be opened or used as asked (missing, not a database, read-only...)."""


class NewerSchemaError(DatabaseError):
    """The database was written by a newer otel-sqlite; we refuse rather than guess."""


class NotFoundError(OtelSqliteError):
    """A run, span or artifact named by the user does not exist."""


class SearchUnavailableError(OtelSqliteError):
    """The SQLite build lacks FTS5, so full-text search cannot work (everything else does)."""


class AmbiguousError(OtelSqliteError):
    """A prefix names more than one run or span; the message lists a few to choose from."""


class QuerySyntaxError(OtelSqliteError):
    """A search or SQL query the database cannot parse; the message says how to fix it."""


class ReadOnlyError(OtelSqliteError):
    """A read-only command was asked to change the database; nothing was changed."""
class OtlpError(OtelSqliteError):
    """An OTLP payload (protobuf or JSON) that cannot be decoded as the OTLP spec defines it."""


class PushError(OtelSqliteError):
    """An OTLP endpoint refused the spans or stayed unreachable after every retry."""

"""OTLP in and out: the protobuf and JSON codec, OTLP/JSON files, the receivers of ``serve``,
and ``push``."""

"""The OTLP/gRPC trace receiver (``TraceService/Export``) of ``serve``, on grpcio.

The default protocol of the Collector's ``otlp`` exporter and of the Go, Java and .NET SDKs.
grpcio does the transport (HTTP/2, gzip, the message size limit, which it checks on the
decompressed message too); ``ingest.Ingest`` decodes and stores, exactly as for OTLP/HTTP.
The method is registered with raw bytes rather than the stubs' own deserializer so that an
undecodable message gets INVALID_ARGUMENT, as the OTLP spec asks (grpcio would answer
INTERNAL), through the same decoding as HTTP.

Status codes: OK with an ``ExportTraceServiceResponse`` (``partial_success`` for rejected
spans), INVALID_ARGUMENT for a message that does not decode, RESOURCE_EXHAUSTED over the
size limit, UNAVAILABLE with a RetryInfo (the OTLP spec's throttling signal) when too much is
under way or the database cannot take the write. Not supported: TLS, the metrics and logs
services (UNIMPLEMENTED).

This module imports grpc at its top: only ``serve`` imports it.
"""

from __future__ import annotations

import socket
import threading
from concurrent import futures

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from otel_sqlite.otlp.ingest import RETRY_AFTER_S, Ingest, Verdict

# Requests decoded and stored at once (they queue for the store's lock anyway); more RPCs
# than this wait in grpcio's queue, bounded below.
WORKERS = 8
MAX_CONCURRENT_RPCS = 256
_SERVICE = trace_service_pb2.DESCRIPTOR.services_by_name["TraceService"].full_name
_CODES = {
    Verdict.MALFORMED: grpc.StatusCode.INVALID_ARGUMENT,
    Verdict.TOO_LARGE: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Verdict.BUSY: grpc.StatusCode.UNAVAILABLE,
    Verdict.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
}


def _retry_metadata(message: str) -> tuple[tuple[str, bytes], ...]:
    """A RetryInfo of RETRY_AFTER_S, where senders look for it: inside the standard status
    details (Go, Java, the Collector) and on its own (the Python exporter)."""
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=RETRY_AFTER_S))
    detail = any_pb2.Any()
    detail.Pack(retry)
    status = status_pb2.Status(code=code_pb2.UNAVAILABLE, message=message, details=[detail])
    return (("grpc-status-details-bin", status.SerializeToString()),
            ("google.rpc.retryinfo-bin", retry.SerializeToString()))


class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    """``Export``: one request's bytes (grpcio has already decompressed them) into ``ingest``."""

    def __init__(self, ingest: Ingest) -> None:
        self._ingest = ingest

    def Export(self, request: bytes, context: grpc.ServicerContext  # noqa: N802 - the stubs'
               ) -> ExportTraceServiceResponse:
        outcome = self._ingest.export(request)
        if outcome.verdict is Verdict.STORED:
            return outcome.response()
        if outcome.retryable:
            context.set_trailing_metadata(_retry_metadata(outcome.message))
        context.abort(_CODES[outcome.verdict], outcome.message)  # raises


def _check_free(host: str, port: int) -> None:
    """Raise OSError (with its strerror) if the port is taken: grpcio would log a line of its
    own to stderr and say less."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


class GrpcReceiver:
    """A gRPC server with the trace service, bound to one address; ``stop()`` lets the
    requests under way be stored and answered first."""

    def __init__(self, address: tuple[str, int], ingest: Ingest) -> None:
        limit = ingest.limits.decompressed_bytes
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="otlp-grpc"),
            options=[
                ("grpc.max_receive_message_length", limit),
                # grpcio binds with SO_REUSEPORT by default: a second serve on the same port
                # would silently share it instead of failing.
                ("grpc.so_reuseport", 0),
            ],
            maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS,
        )
        service = TraceService(ingest)
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(_SERVICE, {
            "Export": grpc.unary_unary_rpc_method_handler(
                service.Export, request_deserializer=None,
                response_serializer=ExportTraceServiceResponse.SerializeToString,
            ),
        }),))
        host, port = address
        shown = f"[{host}]" if ":" in host else host
        if port:
            _check_free(host, port)
        try:
            bound = self._server.add_insecure_port(f"{shown}:{port}")
        except RuntimeError:
            bound = 0
        if not bound:
            raise OSError("grpcio could not bind it")
        self.address = (host, bound)
        self._server.start()

    @property
    def endpoint(self) -> str:
        host, port = self.address
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def stop(self, grace_seconds: float = 30) -> threading.Event:
        """Refuse new calls at once; the event is set once those under way are stored and
        answered (or ``grace_seconds`` passed)."""
        return self._server.stop(grace_seconds)

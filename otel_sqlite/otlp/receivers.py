"""Both OTLP receivers of ``serve`` over one database: HTTP always, gRPC unless turned off.

They share one ``Ingest`` (limits, the pending budget, the statistics) and one ``Store``, so
a span sent over either port takes the same road into the file. ``stop()`` refuses new
requests on both at once, then waits for those under way: every request answered with
success is stored before the process exits.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from otel_sqlite.otlp.ingest import DEFAULT_LIMITS, Ack, Ingest, Limits
from otel_sqlite.otlp.receiver import OtlpServer
from otel_sqlite.storage.store import Store

if TYPE_CHECKING:
    from otel_sqlite.otlp.receiver_grpc import GrpcReceiver


class Receivers:
    def __init__(self, store: Store, host: str, http_port: int, grpc_port: int | None,
                 limits: Limits = DEFAULT_LIMITS, cors_origins: Iterable[str] = (),
                 ack: Ack = Ack.QUEUED) -> None:
        """Bind both ports now; gRPC is imported only here. OSError says which port failed."""
        self.ingest = Ingest(store, limits, ack)
        try:
            self.http = OtlpServer((host, http_port), self.ingest, cors_origins)
        except OSError as exc:
            self.ingest.close()
            raise OSError(f"{host}:{http_port} (OTLP/HTTP): {exc.strerror or exc}") from exc
        self.grpc: GrpcReceiver | None = None
        if grpc_port is not None:
            from otel_sqlite.otlp.receiver_grpc import GrpcReceiver

            try:
                self.grpc = GrpcReceiver((host, grpc_port), self.ingest)
            except OSError as exc:
                self.http.server_close()
                self.ingest.close()
                raise OSError(f"{host}:{grpc_port} (OTLP/gRPC): {exc.strerror or exc}") from exc

    def serve_forever(self) -> None:
        """Serve HTTP on this thread (gRPC has its own) until ``KeyboardInterrupt``."""
        self.http.serve_forever()

    def stop(self) -> None:
        grpc_done = self.grpc.stop() if self.grpc is not None else None
        self.http.stop()
        if grpc_done is not None:
            grpc_done.wait()
        self.ingest.close()
        self.ingest.store.close()

"""A gRPC call made by hand over HTTP/2 (``h2``), for what grpcio's client will not send:
garbage, a truncated gzip message, a zip bomb, another content type."""

from __future__ import annotations

import socket
import struct

import h2.config
import h2.connection
import h2.events

EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def frame(message: bytes, compressed: bool = False) -> bytes:
    """One gRPC length-prefixed message."""
    return struct.pack(">?I", compressed, len(message)) + message


def call(endpoint: str, body: bytes, headers: dict[str, str] | None = None,
         timeout: float = 10) -> dict[str, str]:
    """POST ``body`` (already framed) to Export; the response's headers and trailers, or
    ``{}`` when the server closed the connection without answering."""
    host, port = endpoint.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        connection.initiate_connection()
        stream = connection.get_next_available_stream_id()
        connection.send_headers(stream, [
            (":method", "POST"), (":scheme", "http"), (":authority", f"{host}:{port}"),
            (":path", EXPORT_PATH), ("te", "trailers"),
            *({"content-type": "application/grpc", **(headers or {})}.items()),
        ])
        sock.sendall(connection.data_to_send())
        sent = 0
        while sent < len(body):  # as much as the flow-control window lets through
            window = min(connection.local_flow_control_window(stream),
                         connection.max_outbound_frame_size)
            if window:
                connection.send_data(stream, body[sent:sent + window])
                sent += window
                sock.sendall(connection.data_to_send())
            else:
                if not _receive(sock, connection, stream, {}):
                    break
        else:
            connection.end_stream(stream)
            sock.sendall(connection.data_to_send())
        answer: dict[str, str] = {}
        while _receive(sock, connection, stream, answer):
            pass
        return answer


def _receive(sock: socket.socket, connection: h2.connection.H2Connection, stream: int,
             answer: dict[str, str]) -> bool:
    """Read once; False when the stream or the connection has ended."""
    try:
        data = sock.recv(65536)
    except OSError:
        return False
    if not data:
        return False
    going = True
    for event in connection.receive_data(data):
        if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
            answer.update((k.decode(), v.decode()) for k, v in event.headers)
        elif isinstance(event, h2.events.DataReceived):
            connection.acknowledge_received_data(event.flow_controlled_length, stream)
        elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset,
                                h2.events.ConnectionTerminated)):
            going = False
    sock.sendall(connection.data_to_send())
    return going

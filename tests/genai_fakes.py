"""A fake OpenAI-compatible server and a fake Anthropic Messages server on 127.0.0.1.

Both answer every request with the same usage (INPUT_TOKENS in, OUTPUT_TOKENS out, CACHED of
the input read from cache), streamed when asked, and a new response id per request, as the
real APIs do. The model in the answer is the one asked for.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INPUT_TOKENS, OUTPUT_TOKENS, CACHED_TOKENS = 1200, 300, 200
ANSWER = "Hello from the fake model"
_ids = itertools.count(1)


def _openai(body: dict, number: int) -> tuple[dict | None, list[dict]]:
    usage = {"prompt_tokens": INPUT_TOKENS, "completion_tokens": OUTPUT_TOKENS,
             "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
             "prompt_tokens_details": {"cached_tokens": CACHED_TOKENS}}
    head = {"id": f"chatcmpl-{number}", "created": 1, "model": body["model"]}
    answer = {**head, "object": "chat.completion", "usage": usage, "choices": [
        {"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}]}
    chunk = {**head, "object": "chat.completion.chunk"}
    chunks = [
        {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ANSWER},
                               "finish_reason": None}]},
        {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**chunk, "choices": [], "usage": usage},
    ]
    return answer, [{"data": c} for c in chunks] + [{"data": "[DONE]"}]


def _anthropic(body: dict, number: int) -> tuple[dict | None, list[dict]]:
    message = {"id": f"msg_{number}", "type": "message", "role": "assistant",
               "model": body["model"], "stop_reason": "end_turn"}
    answer = {**message, "content": [{"type": "text", "text": ANSWER}],
              "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS}}
    events = [
        ("message_start", {"type": "message_start", "message": {
            **message, "content": [], "stop_reason": None,
            "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": 0}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": ANSWER}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                           "usage": {"output_tokens": OUTPUT_TOKENS}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return answer, [{"event": name, "data": data} for name, data in events]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        make = _openai if self.path.endswith("/chat/completions") else _anthropic
        answer, events = make(body, next(_ids))
        if body.get("stream"):
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            for event in events:
                data = event["data"]
                data = data if isinstance(data, str) else json.dumps(data)
                name = f"event: {event['event']}\n" if "event" in event else ""
                self.wfile.write(f"{name}data: {data}\n\n".encode())
            return
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def fake_model_server() -> Iterator[str]:
    """Both fakes on one free port: ``/v1/chat/completions`` and ``/v1/messages``; yields the
    base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()

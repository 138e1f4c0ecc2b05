"""A model call's prompts and completions as a conversation, from wherever they were recorded.

Instrumentations record content only when their user turns capture on (we never do), and each
in its own shape: the current GenAI conventions as JSON attributes (``gen_ai.input.messages``,
``gen_ai.output.messages``, ``gen_ai.system_instructions``), OpenInference as flattened
attributes (``llm.input_messages.0.message.content``), older OpenLLMetry as
``gen_ai.prompt.0.content``, and the older conventions as span events
(``gen_ai.user.message``, ``gen_ai.choice``). The first shape found wins. What is shown is
bounded: MAX_MESSAGES messages of at most MAX_MESSAGE_CHARS characters each (the store has
already bounded every value to ``storage.limits.MAX_VALUE_CHARS``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from otel_sqlite import conventions as c

MAX_MESSAGES = 200
MAX_MESSAGE_CHARS = 20_000

_FLAT = re.compile(r"^(llm\.(?:input|output)_messages|gen_ai\.(?:prompt|completion))\.(\d+)\.(.+)$")
_EVENT_ROLES = {
    "gen_ai.system.message": "system", "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant", "gen_ai.tool.message": "tool",
    "gen_ai.choice": "assistant",
}
_OUTPUT_PREFIXES = ("llm.output_messages", "gen_ai.completion")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _message(role: Any, content: Any, output: bool) -> dict[str, Any]:
    text = _text(content if content is not None else "")
    return {
        "role": str(role or ("assistant" if output else "user")),
        "content": text[:MAX_MESSAGE_CHARS],
        "truncated": len(text) > MAX_MESSAGE_CHARS,
        "output": output,
    }


def _parts_text(parts: Any) -> str:
    """The text of a message's ``parts`` (semconv): text as it is, anything else as JSON."""
    if not isinstance(parts, list):
        return _text(parts)
    return "\n".join(
        part["content"] if isinstance(part, dict) and part.get("type") == "text"
        and isinstance(part.get("content"), str) else _text(part)
        for part in parts
    )


def _semconv(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = []
    for key, output in ((c.GEN_AI_SYSTEM_INSTRUCTIONS, False), (c.GEN_AI_INPUT_MESSAGES, False),
                        (c.GEN_AI_OUTPUT_MESSAGES, True)):
        value = attributes.get(key)
        if value is None:
            continue
        try:
            messages = json.loads(value) if isinstance(value, str) else value
        except ValueError:
            found.append(_message("system" if key == c.GEN_AI_SYSTEM_INSTRUCTIONS else None,
                                  value, output))
            continue
        if key == c.GEN_AI_SYSTEM_INSTRUCTIONS:
            found.append(_message("system", _parts_text(messages), False))
            continue
        for message in messages if isinstance(messages, list) else [messages]:
            if isinstance(message, dict):
                found.append(_message(message.get("role"),
                                      _parts_text(message.get("parts", message.get("content"))),
                                      output))
    return found


def _flattened(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """OpenInference's ``llm.input_messages.N.message.*`` and OpenLLMetry's older
    ``gen_ai.prompt.N.*`` / ``gen_ai.completion.N.*``, inputs before outputs."""
    messages: dict[tuple[bool, str, int], dict[str, Any]] = {}
    for key, value in attributes.items():
        match = _FLAT.match(key)
        if match is None:
            continue
        prefix, index, field = match.groups()
        field = field.removeprefix("message.")
        entry = messages.setdefault((prefix in _OUTPUT_PREFIXES, prefix, int(index)), {})
        if field in ("role", "content"):
            entry[field] = value
        elif field.endswith("message_content.text") or field.startswith("tool_calls."):
            entry.setdefault("more", []).append(_text(value))
    return [
        _message(entry.get("role"),
                 "\n".join(filter(None, [entry.get("content"), *entry.get("more", [])])), output)
        for (output, _, _), entry in sorted(messages.items())
    ]


def _events(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for event in events:
        role = _EVENT_ROLES.get(event["name"])
        if role is None:
            continue
        attributes = event.get("attributes") or {}
        content = attributes.get("content", attributes.get("message"))
        if isinstance(content, str) and content.startswith("{"):
            try:
                content = json.loads(content).get("content", content)
            except (ValueError, AttributeError):
                pass
        found.append(_message(attributes.get("role", role), content,
                              event["name"] == "gen_ai.choice"))
    return found


def conversation(
    attributes: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The messages of one span (``role``, ``content``, ``truncated``, ``output``), in order,
    at most MAX_MESSAGES; empty when the instrumentation recorded no content."""
    for messages in (_semconv(attributes), _flattened(attributes), _events(events)):
        if messages:
            return messages[:MAX_MESSAGES]
    return []

"""An application calling a model through an official client under one GenAI instrumentation,
recorded by otel-sqlite with no code of ours around the calls but a run and one api_call.

Usage: python genai_app.py INSTRUMENTATION BASE_URL DB. Makes three calls inside a run: a plain
one (its prompt names a zebra), a streamed one, and a plain one inside a harness api_call that
records the same usage, which must count once.
"""

from __future__ import annotations

import sys

import otel_sqlite as h

INSTRUMENTORS = {
    "openai-v2": "opentelemetry.instrumentation.openai_v2:OpenAIInstrumentor",
    "openllmetry-openai": "opentelemetry.instrumentation.openai:OpenAIInstrumentor",
    "openinference-openai": "openinference.instrumentation.openai:OpenAIInstrumentor",
    "openllmetry-anthropic": "opentelemetry.instrumentation.anthropic:AnthropicInstrumentor",
}


def main(instrumentation: str, base_url: str, db: str) -> None:
    import importlib

    h.configure(db=db, service_name=instrumentation)
    module, name = INSTRUMENTORS[instrumentation].split(":")
    getattr(importlib.import_module(module), name)().instrument()
    if instrumentation.endswith("anthropic"):
        import anthropic

        client = anthropic.Anthropic(base_url=base_url, api_key="test")
        model, provider = "claude-sonnet-4-5", "anthropic"

        def ask(prompt: str, stream: bool = False) -> None:
            messages = [{"role": "user", "content": prompt}]
            if stream:
                with client.messages.stream(model=model, max_tokens=64, messages=messages) as s:
                    for _ in s.text_stream:
                        pass
            else:
                client.messages.create(model=model, max_tokens=64, messages=messages)
    else:
        import openai

        client = openai.OpenAI(base_url=base_url + "/v1", api_key="test")
        model, provider = "gpt-4o", "openai"

        def ask(prompt: str, stream: bool = False) -> None:
            messages = [{"role": "user", "content": prompt}]
            if stream:
                for _ in client.chat.completions.create(
                    model=model, messages=messages, stream=True,
                    stream_options={"include_usage": True},
                ):
                    pass
            else:
                client.chat.completions.create(model=model, messages=messages)

    with h.run(f"genai-{instrumentation}"):
        ask("Describe a zebra in one line")
        ask("Count to three", stream=True)
        with h.api_call(model, provider=provider) as call:
            ask("Name a colour")
            call.set_usage(input_tokens=1200, output_tokens=300)


if __name__ == "__main__":
    main(*sys.argv[1:])

"""An agent coordinator's loop (the TAC-8 story): tasks, workers, paid API calls and decisions.

No network: the "model" is a deterministic stand-in whose usage is counted like a real one.

    python examples/agent_loop.py
    otel-sqlite costs --by model
    otel-sqlite events --type decision     # what the coordinator decided, and why
    otel-sqlite task gh-450                # one task's whole story, across sessions
"""

from __future__ import annotations

import random
import sys

import otel_sqlite as h

# USD per million tokens (input, output): illustrative prices.
PRICES = {"claude-sonnet-4": (3.0, 15.0), "claude-haiku-4": (0.8, 4.0)}


def fake_model(prompt: str, rng: random.Random) -> tuple[str, int, int]:
    """A reply and its token usage, as a model API would report them."""
    input_tokens = len(prompt.split()) * 13 + rng.randint(200, 800)
    output_tokens = rng.randint(50, 400)
    return f"plan for: {prompt}", input_tokens, output_tokens


def cost(model: str, input_tokens: int, output_tokens: int) -> float:
    per_in, per_out = PRICES[model]
    return round((input_tokens * per_in + output_tokens * per_out) / 1e6, 6)


def main() -> int:
    rng = random.Random(8)
    h.configure(service_name="agent-coordinator")
    tasks = ["gh-450 fix flaky login test", "gh-451 add retry to uploader", "gh-452 docs"]
    with h.run("coordinator-session", **{"session.id": "s-2026-12-02"}):
        for number, task in enumerate(tasks, start=1):
            task_id = task.split()[0]
            with h.step(task, number=number, **{"harness.task.id": task_id}):
                model = "claude-haiku-4" if "docs" in task else "claude-sonnet-4"
                h.event("decision", choice=f"route to {model}",
                        reason="docs need no code changes" if "docs" in task
                        else "code change: needs the stronger model")
                for turn in range(2):
                    with h.api_call(model, provider="anthropic", turn=turn) as call:
                        _, used_in, used_out = fake_model(task, rng)
                        call.set_usage(used_in, used_out, cost(model, used_in, used_out))
                h.command([sys.executable, "-c", f"print('worker finished {task_id}')"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

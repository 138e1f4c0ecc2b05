"""Tests that use otel-sqlite's harness API: their spans nest under the test's step."""

import sys

from otel_sqlite import harness


def test_a_command_and_a_paid_call():
    result = harness.command([sys.executable, "-c", "print('warehouse export done')"])
    assert result.exit_code == 0
    with harness.api_call("gpt-test", provider="openai", input_tokens=120, output_tokens=30,
                          cost_usd=0.0021):
        harness.event("decision", choice="restock")

"""Hooks of the example suite: @skip skips a scenario, @autoretry runs a failing one again.

``record(context)`` lets ``behave -D otel_sqlite=1`` record a run without naming the formatter
(a project that already picks its formatters in behave.ini); ``-f otel_sqlite.behave:Recorder``
works without it.
"""

from behave.contrib.scenario_autoretry import patch_scenario_with_autoretry

from otel_sqlite.behave import record


def before_all(context):
    record(context)


def before_feature(context, feature):
    for scenario in feature.walk_scenarios():
        if "autoretry" in scenario.effective_tags:
            patch_scenario_with_autoretry(scenario, max_attempts=2)


def before_scenario(context, scenario):
    if "skip" in scenario.effective_tags:
        scenario.skip("vouchers are not built yet")

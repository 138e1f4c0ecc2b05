"""``export junit``: what CI tools read, valid xunit2 and counted as pytest counts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from junit_schema import junit_schema
from pytest_plugin_support import copy_example_suite, run_pytest

from otel_sqlite.cli.main import cli
from otel_sqlite.reports.junit import OUTPUT_MAX_BYTES, pytest_names

COUNTS = ("tests", "failures", "errors", "skipped")


def junit(db: Path, run: str = "latest") -> str:
    done = CliRunner().invoke(cli, ["export", "junit", run, "--db", str(db)],
                              catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return done.output


def verdicts(suite: ET.Element) -> dict[tuple[str, str], str]:
    """Each test case by (classname, name): failure / error / skipped / passed."""
    found = {}
    for case in suite.iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        found[case.get("classname"), case.get("name")] = kinds[0] if kinds else "passed"
    return found


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[ET.Element, Path]:
    """The example suite run once with both pytest's --junitxml and our recorder."""
    suite = copy_example_suite(tmp_path_factory.mktemp("junit") / "pytest-suite")
    done = run_pytest(suite, "--otel-sqlite=runs.db", "--junitxml=pytest.xml")
    assert done.returncode == 1, done.stdout + done.stderr
    (theirs,) = ET.parse(suite / "pytest.xml").getroot().iter("testsuite")
    return theirs, suite / "runs.db"


def test_a_pytest_sessions_counts_equal_pytests_own_junitxml(session):
    theirs, db = session
    (ours,) = ET.fromstring(junit(db)).iter("testsuite")
    assert {key: ours.get(key) for key in COUNTS} == {key: theirs.get(key) for key in COUNTS}
    assert theirs.get("skipped") == "4" and theirs.get("errors") == "1"  # the suite has them


def test_every_pytest_test_case_has_pytests_names_and_verdict(session):
    theirs, db = session
    (ours,) = ET.fromstring(junit(db)).iter("testsuite")
    assert verdicts(ours) == verdicts(theirs)


def test_an_xfail_is_skipped_with_its_reason(session):
    _, db = session
    (case,) = [c for c in ET.fromstring(junit(db)).iter("testcase")
               if c.get("name") == "test_rounding_of_thirds"]
    (skipped,) = case.iter("skipped")
    assert (skipped.get("type"), skipped.get("message")) == ("xfail", "rounding bug #12")


def test_a_rerun_test_that_passed_carries_its_failed_attempt_as_flaky_failure(session):
    _, db = session
    (case,) = [c for c in ET.fromstring(junit(db)).iter("testcase")
               if c.get("name") == "test_inventory_sync_eventually_settles"]
    (flaky,) = case.iter("flakyFailure")
    assert flaky.get("message") == "AssertionError: inventory not settled yet"
    assert "assert 1 > 1" in flaky.find("stackTrace").text
    assert [child.tag for child in case] == ["flakyFailure", "system-out"]
    assert case.find("system-out").text == "sync attempt 2\n"


def test_the_report_of_a_pytest_session_is_valid_xunit2(session):
    _, db = session
    junit_schema().validate(junit(db))


@pytest.mark.parametrize("run", ["latest", "latest~1", "latest~2", "latest~3"])
def test_every_example_run_is_valid_xunit2(example_db_master, run):
    junit_schema().validate(junit(example_db_master, run))


def test_a_step_failed_by_its_command_says_the_exit_and_its_stderr_once(example_db_master):
    (case,) = [c for c in ET.fromstring(junit(example_db_master, "latest~3")).iter("testcase")
               if c.get("name") == "test"]
    (failure,) = case.iter("failure")
    assert (failure.get("message"), failure.get("type"), failure.text) == (
        "exit code 3", "exit code 3", "exit code 3")
    assert [child.tag for child in case] == ["failure", "system-err"]
    assert case.find("system-err").text == "assertion failed: 2 != 3\n"


def test_output_beyond_the_limit_is_cut_from_the_front_with_a_marker(tmp_path, run_python):
    run_python(f"""
        import sys
        from otel_sqlite import harness as h
        with h.run("loud"), h.step("chatter"):
            h.command([sys.executable, "-c",
                       "print('x' * {OUTPUT_MAX_BYTES} + ' the end')"])
    """)
    (out,) = ET.fromstring(junit(tmp_path / "traces.db")).iter("system-out")
    marker, _, rest = out.text.partition("\n")
    assert marker.startswith("[otel-sqlite: 9 earlier bytes cut; the whole output:")
    assert rest.endswith(" the end\n") and len(rest.encode()) == OUTPUT_MAX_BYTES


def test_a_killed_steps_case_is_an_error(tmp_path, run_python):
    run_python("""
        import os, signal
        from otel_sqlite import harness as h
        with h.run("killed"), h.step("done"):
            pass
        with h.run("killed2"):
            with h.step("hangs"):
                h.configure().force_flush()
                os.kill(os.getpid(), signal.SIGKILL)
    """, check=False)
    report = junit(tmp_path / "traces.db")
    junit_schema().validate(report)
    (suite,) = ET.fromstring(report).iter("testsuite")
    assert {key: suite.get(key) for key in COUNTS} == {
        "tests": "1", "failures": "0", "errors": "1", "skipped": "0"}
    assert suite.find("testcase/error").get("type") == "incomplete"


@pytest.mark.parametrize(("nodeid", "names"), [
    ("tests/test_a.py::TestX::test_y[1-a::b]", ("tests.test_a.TestX", "test_y[1-a::b]")),
    ("test_broken.py", ("", "test_broken")),
])
def test_pytest_node_ids_become_classname_and_name_as_pytest_writes_them(nodeid, names):
    assert pytest_names(nodeid) == names

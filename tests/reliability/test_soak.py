"""A one-minute soak at a fixed seed (``tests/soak``), one test per check.

The soak runs once per module, as its own process
(``python -m tests.soak --minutes 1 --seed 7 --json ...``) so its memory and
descriptor counts are its own; each test asserts one of its checks and
shows the relevant part of the report when it fails.  The 30-minute run and
what the checks mean are in docs/reliability.md.

Marked ``soak``: the default ``pytest`` run leaves it out (pyproject.toml's
``addopts``); ``pytest -m soak`` runs it, as ``.ci/run`` does after the suite.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.helpers import REPO

SEED = 7

pytestmark = pytest.mark.soak


@pytest.fixture(scope="module", params=["buffer", "push"])
def report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> dict[str, Any]:
    """One soak per access mode (``--access-mode``), shared by the checks."""
    path = tmp_path_factory.mktemp("soak") / "soak.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.soak", "--minutes", "1", "--seed", str(SEED),
         "--access-mode", request.param, "--json", str(path)],
        cwd=REPO, capture_output=True, text=True, timeout=900, check=False)
    if not path.exists():
        pytest.fail(f"the soak did not finish (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(path.read_text())
    data["_summary"] = proc.stdout
    return data


def _show(report: dict[str, Any], *keys: str) -> str:
    shown = {k: report[k] for k in keys}
    return f"{report['_summary']}\n{json.dumps(shown, indent=1)[:4000]}"


def test_report_has_the_documented_fields(report: dict[str, Any]) -> None:
    for key in ("seed", "access_mode", "minutes", "faults", "bytes", "connections_ok",
                "connections_failed", "corrupted", "misdelivered", "holes",
                "silently_truncated", "integrity_failures", "proxy_alive",
                "ids_free_at_end", "rss_start_mb", "rss_end_mb", "fds_start", "fds_end"):
        assert key in report
    assert report["seed"] == SEED and report["minutes"] == 1


def test_load_and_faults_really_happened(report: dict[str, Any]) -> None:
    assert report["connections_ok"] > 50, _show(report, "outcomes")
    assert report["bytes"] > 1_000_000, _show(report, "bytes")
    assert report["faults_total"] >= 10, _show(report, "faults")


def test_no_byte_is_corrupted_reordered_or_duplicated(report: dict[str, Any]) -> None:
    assert report["corrupted"] == 0, _show(report, "integrity_failures")


def test_no_byte_reaches_another_connection(report: dict[str, Any]) -> None:
    assert report["misdelivered"] == 0, _show(report, "integrity_failures")


def test_no_stream_goes_on_over_a_hole(report: dict[str, Any]) -> None:
    assert report["holes"] == 0, _show(report, "integrity_failures")


def test_no_connection_is_silently_truncated(report: dict[str, Any]) -> None:
    assert report["silently_truncated"] == 0, _show(report, "integrity_failures")


def test_the_module_played_every_adverse_order(report: dict[str, Any]) -> None:
    options = report["emulator_options"]
    for option in ("late_pushes_after_close", "pushes_after_switch", "keep_buffer_on_push",
                   "empty_read_error"):
        assert options[option] is True, options


def test_no_connection_hangs(report: dict[str, Any]) -> None:
    assert report["hung"] == 0, _show(report, "failures")


def test_every_failure_was_visible(report: dict[str, Any]) -> None:
    for failure in report["failures"]:
        assert failure["outcome"] in ("failed", "vanished"), _show(report, "failures")
        assert failure["error"], failure


def test_the_proxy_stays_up_and_serves_new_connections(report: dict[str, Any]) -> None:
    assert report["proxy_alive"], _show(report, "proxy_exit", "proxy_errors")
    assert report["new_connections_ok"], _show(report, "module_state_at_end")
    assert not report["proxy_errors"], _show(report, "proxy_errors")


def test_every_client_id_is_free_at_the_end(report: dict[str, Any]) -> None:
    assert report["ids_free_at_end"], _show(report, "qsslstate_at_end", "module_state_at_end")


def test_descriptors_do_not_leak(report: dict[str, Any]) -> None:
    assert report["fds_end"] <= report["fds_start"], _show(
        report, "fd_kinds_start", "fd_kinds_end")


def test_memory_stays_bounded(report: dict[str, Any]) -> None:
    assert report["rss_end_mb"] <= report["rss_bound_mb"], _show(report, "rss_samples")

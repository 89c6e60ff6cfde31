"""``--log-format json``: one JSON object per line with the text form's fields, the
driver's (``modem.*``) as well as the proxy's; under systemd's journal each line
starts with its syslog priority and the text form leaves the timestamp to the journal."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from pathlib import Path

import pytest

from proxy.cli import parse_command_line
from proxy.config.build import ConfigError, build_config, load_toml
from proxy.config.endpoint import Endpoint
from proxy.logging_setup import NOTICE, kv, setup_logging
from tests.helpers import round_trip, wait_until
from tests.proxy_helpers import connect, http_get, start_proxy, start_proxy_process


async def test_json_lines_carry_the_connections_fields(emulator, echo_server, ca_file,
                                                      nursery):
    out = io.StringIO()
    setup_logging(verbose=1, stream=out, log_format="json")
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}")
    async with await connect(service) as stream:
        assert await round_trip(stream, b"j" * 3000) == b"j" * 3000
    await wait_until(lambda: len(service.registry) == 0)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    (opened,) = [line for line in lines if line["message"] == "opened"]
    (closed,) = [line for line in lines if line["message"] == "closed"]
    assert opened["level"] == "INFO" and opened["logger"] == "proxy.connection"
    assert opened["conn"] == closed["conn"] == 1 and opened["id"] == 0
    assert opened["remote"] == f"echo.test:{echo_server.port}"
    assert closed["up"] == closed["down"] == 3000
    # The echo server never closes: the half-close limit ends it, with a reset.
    assert closed["end"] == "half_close_timeout" and closed["reset"] is True
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", opened["time"])


def test_a_field_named_like_a_base_key_does_not_replace_it():
    out = io.StringIO()
    setup_logging(stream=out, log_format="json")
    logging.getLogger("proxy.test").warning("hello", extra=kv(message="x", n=3, path=None))
    (line,) = [json.loads(text) for text in out.getvalue().splitlines()]
    assert line["message"] == "hello" and line["message_"] == "x" and line["n"] == 3
    assert "path" not in line


def journal_id(path: Path) -> str:
    """``$JOURNAL_STREAM`` for a stderr that is the file ``path`` (systemd.exec(5))."""
    st = path.stat()
    return f"{st.st_dev}:{st.st_ino}"


def test_under_the_journal_each_line_has_its_priority_and_no_timestamp(tmp_path,
                                                                       monkeypatch):
    path = tmp_path / "stderr"
    path.touch()
    with path.open("r+") as stream:
        monkeypatch.setenv("JOURNAL_STREAM", journal_id(path))
        setup_logging(verbose=1, stream=stream)
        log = logging.getLogger("proxy.test")
        log.warning("hello", extra=kv(conn=7))
        log.error("bad")
        log.log(NOTICE, "listening")
        log.info("opened")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
        setup_logging(stream=stream, log_format="json")
        log.warning("as json", extra=kv(conn=8))
        monkeypatch.setenv("JOURNAL_STREAM", "1:2")  # another file: not the journal
        setup_logging(stream=stream)
        log.warning("again")
        stream.seek(0)
        lines = stream.read().splitlines()
    assert lines[:4] == ["<4>WARNING proxy.test: hello conn=7", "<3>ERROR proxy.test: bad",
                         "<5>NOTICE proxy.test: listening", "<6>INFO proxy.test: opened"]
    traceback = lines[4:-2]  # the journal stores each line apart: each has the priority
    assert traceback[0] == "<3>ERROR proxy.test: failed" and len(traceback) > 2
    assert all(line.startswith("<3>") for line in traceback)
    assert traceback[-1] == "<3>ValueError: boom"
    assert lines[-2].startswith("<4>{") and json.loads(lines[-2][3:])["conn"] == 8
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING proxy.test: again$",
                    lines[-1])


async def test_the_proxy_under_the_journal_marks_warnings(tmp_path, nursery, ca_file):
    """The proxy as systemd runs it (stderr is the journal): its warnings carry ``<4>``,
    so ``journalctl -p warning`` shows them, and its informational lines ``<6>``."""
    log = tmp_path / "journal"
    log.touch()
    env = {**os.environ, "JOURNAL_STREAM": journal_id(log)}
    proxy = await start_proxy_process(nursery, log, "--emulate", "-v", "--insecure",
                                      "--map", "0=echo.test:1", env=env)
    await proxy.stop()
    lines = log.read_text().splitlines()
    assert "<4>WARNING proxy.service: server certificates are not verified (--insecure)" \
        " maps=echo.test:1" in lines
    assert any(line.startswith("<6>INFO modem.driver: module ready modem=modem1 ")
               for line in lines)
    assert all(re.match(r"<[2-7]>[A-Z]+ ", line) for line in lines), lines


async def test_the_drivers_lines_carry_their_fields_as_json_keys(tmp_path, nursery):
    """``-v --log-format json``: a ``modem.*`` line's facts are keys, not text in its
    message; every line is one JSON object."""
    log = tmp_path / "proxy.log"
    proxy = await start_proxy_process(nursery, log, "--emulate", "-v", "--log-format", "json",
                                      "--insecure", "--map", "0=echo.test:1")
    await proxy.stop()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    (ready,) = [line for line in lines if line["message"] == "module ready"]
    assert ready["logger"] == "modem.driver" and ready["modem"] == "modem1"
    assert ready["model"] == "EC25" and isinstance(ready["contexts"], int)
    (urcs,) = [line for line in lines if line["message"] == "URC port"]
    assert urcs["logger"] == "modem.bringup" and urcs["set"] == "unchanged"
    modem_lines = [line for line in lines if line["logger"].startswith("modem.")]
    assert not [line["message"] for line in modem_lines if re.search(r"\w=\S", line["message"])]


def test_log_format_flag_and_key(tmp_path):
    assert parse_command_line(["--map", "9000=a.example:443"]).log_format == "text"
    assert parse_command_line(["--map", "9000=a.example:443", "--log-format", "json"]
                              ).log_format == "json"
    path = tmp_path / "proxy.toml"
    path.write_text('log-format = "json"\n[[map]]\nlisten = 9000\nconnect = "a.example:443"\n')
    assert build_config({}, load_toml(path)).log_format == "json"
    path.write_text('log-format = "xml"\n[[map]]\nlisten = 9000\nconnect = "a.example:443"\n')
    with pytest.raises(ConfigError, match="--log-format: 'xml' is not one of text, json"):
        build_config({}, load_toml(path))


async def test_every_at_trace_line_names_its_module(tmp_path, nursery):
    """The status page's and the scrape's questions to the module are traced from
    their own tasks; they name the module as its own tasks' lines do."""
    log = tmp_path / "proxy.log"
    proxy = await start_proxy_process(nursery, log, "--emulate", "--trace-at", "--insecure",
                                      "--status", "127.0.0.1:0", "--map", "0=echo.test:1",
                                      ready=b"status page on")
    port = int(re.search(rb"status page on http://127\.0\.0\.1:(\d+)/", proxy.output)[1])
    for path in ("/status.json", "/metrics"):
        assert (await http_get(Endpoint("127.0.0.1", port), path))[0] == 200
    await proxy.stop()
    trace = [line for line in log.read_text().splitlines() if " modem.at: " in line]
    assert any("> AT+CSQ" in line for line in trace)  # the status page asked
    assert [line for line in trace if not line.endswith(" modem=modem1")] == []

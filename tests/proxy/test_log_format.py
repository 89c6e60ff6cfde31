"""``--log-format json``: one JSON object per line with the text form's fields;
under systemd's journal the text form leaves the timestamp to the journal."""

from __future__ import annotations

import io
import json
import logging
import os
import re

import pytest

from proxy.cli import parse_command_line
from proxy.config.build import ConfigError, build_config, load_toml
from proxy.logging_setup import kv, setup_logging
from tests.helpers import round_trip, wait_until
from tests.proxy_helpers import connect, start_proxy


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


def test_under_the_journal_the_text_form_has_no_timestamp(tmp_path, monkeypatch):
    with open(tmp_path / "stderr", "w+") as stream:
        st = os.fstat(stream.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        setup_logging(stream=stream)
        logging.getLogger("proxy.test").warning("hello", extra=kv(conn=7))
        monkeypatch.setenv("JOURNAL_STREAM", "1:2")  # another file: not the journal
        setup_logging(stream=stream)
        logging.getLogger("proxy.test").warning("again")
        stream.seek(0)
        first, second = stream.read().splitlines()
    assert first == "WARNING proxy.test: hello conn=7"
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING proxy.test: again$", second)


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

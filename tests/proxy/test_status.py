"""The status page's tiny HTTP/1.0 server."""

from __future__ import annotations

import html
import json
import re

import pytest
import trio
import trio.testing

from proxy.ops.status_page import MAX_HEAD, REQUEST_TIMEOUT, handle_request, render_html

SNAPSHOT = {
    "service": {"version": "0.1.0", "state": "serving"},
    "module": {"model": "EC25", "signal_dbm": -73},
    "maps": [{"listen": "127.0.0.1:9000", "remote": "api.example.com:443",
              "tls_version": "1.2", "seclevel": 1, "sni": True}],
    "connections": [{"number": 1, "listen": "127.0.0.1:9000", "remote": "<b>x</b>:443",
                     "peer": "127.0.0.1:5555", "client_id": 0, "state": "open",
                     "age_s": 1.5, "bytes_up": 10, "bytes_down": 20}],
    "counters": {"opened": 1, "open_failures": {"566": 2}},
}


async def snapshot():
    await trio.lowlevel.checkpoint()
    return SNAPSHOT


async def exchange(request: bytes) -> tuple[str, dict[str, str], bytes]:
    client, server = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(handle_request, server, snapshot)
        if request:
            await client.send_all(request)
        data = b""
        while chunk := await client.receive_some(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    assert status_line.startswith("HTTP/1.0 ")
    return status_line[9:], headers, body


async def test_json():
    status, headers, body = await exchange(b"GET /status.json HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == "200 OK"
    assert headers["Content-Type"] == "application/json"
    assert int(headers["Content-Length"]) == len(body)
    assert json.loads(body) == SNAPSHOT


async def test_html_escapes():
    status, headers, body = await exchange(b"GET /?refresh=1 HTTP/1.0\r\n\r\n")
    assert status == "200 OK" and headers["Content-Type"].startswith("text/html")
    page = body.decode()
    assert "EC25" in page and "api.example.com:443" in page
    assert "&lt;b&gt;x&lt;/b&gt;:443" in page and "<b>x</b>" not in page


async def test_head_has_no_body():
    status, headers, body = await exchange(b"HEAD /status.json HTTP/1.0\r\n\r\n")
    assert status == "200 OK" and body == b"" and int(headers["Content-Length"]) > 0


@pytest.mark.parametrize(("request_bytes", "expected"), [
    (b"GET /admin HTTP/1.0\r\n\r\n", "404 Not Found"),
    (b"POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n", "405 Method Not Allowed"),
    (b"DELETE /status.json HTTP/1.0\r\n\r\n", "405 Method Not Allowed"),
    (b"hello\r\n\r\n", "400 Bad Request"),
    (b"GET / HTTP/1.0\r\n", "400 Bad Request"),  # cut short
    (b"GET / HTTP/1.0\r\nX: " + b"a" * MAX_HEAD + b"\r\n\r\n", "431 Request Header"),
])
async def test_errors(request_bytes, expected):
    client, server = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(handle_request, server, snapshot)
        await client.send_all(request_bytes)
        if not request_bytes.endswith(b"\r\n\r\n"):
            await client.send_eof()
        data = b""
        while chunk := await client.receive_some(65536):
            data += chunk
    assert data.startswith(f"HTTP/1.0 {expected}".encode())


async def test_slow_client_gets_408(autojump_clock):
    client, server = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(handle_request, server, snapshot)
        await client.send_all(b"GET / HTTP/1.0\r\n")
        start = trio.current_time()
        data = b""
        while chunk := await client.receive_some(65536):
            data += chunk
        assert trio.current_time() - start >= REQUEST_TIMEOUT
    assert data.startswith(b"HTTP/1.0 408 ")


async def test_a_failing_snapshot_is_a_500_not_the_end_of_the_service(caplog):
    async def broken_snapshot():
        await trio.lowlevel.checkpoint()
        raise KeyError("a bug")

    client, server = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(handle_request, server, broken_snapshot)
        await client.send_all(b"GET /status.json HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := await client.receive_some(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.0 500 ")
    (record,) = [r for r in caplog.records if r.getMessage() == "status snapshot failed"]
    assert record.exc_info is not None and record.exc_info[0] is KeyError


def test_the_page_embeds_any_text_as_data_only():
    tricky = "{{DATA}} {{TABLES}} </script><script>alert(1)</script>"
    data = {**SNAPSHOT, "maps": [{**SNAPSHOT["maps"][0], "remote": tricky}]}
    page = render_html(data)
    assert page.count("<script>") == 1 and "alert(1)</script>" not in page
    embedded = re.search(r'<script type="application/json" id="status-data">(.*?)</script>',
                         page, re.DOTALL)
    assert embedded is not None and json.loads(embedded[1]) == data
    assert html.escape(tricky) in page  # the table shows it as text

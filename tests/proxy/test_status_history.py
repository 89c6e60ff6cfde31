"""What the status page draws comes from ``/status.json``: the ring of samples
(``history``) and each connection's rate, measured while data moves; the
HTML page embeds the same JSON and lets only its own script run."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import trio

from proxy.ops.status_history import SAMPLES
from tests.helpers import TlsServer, receive_exactly, wait_until
from tests.proxy_helpers import connect, http_get, start_proxy, status_json

SIZE = 400_000


async def test_samples_show_the_line_sockets_queue_and_rates_of_a_transfer(
        emulator, server_cert, ca_file, nursery):
    source = await nursery.start(TlsServer(server_cert, "source", source_bytes=SIZE).serve)
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file), "--status", "0",
                                "--map", f"0=source.test:{source.port}")
    history = service.history
    async with await connect(service) as stream:
        await receive_exactly(stream, 1000)
        history.sample(trio.current_time())
        await receive_exactly(stream, SIZE // 2)
        await trio.sleep(0.05)
        history.sample(trio.current_time())
        page = await status_json(service.status_address)
    ring = page["history"]
    assert ring["interval_s"] == 2.0 and len(ring["t_s"]) == len(ring["queued"]) >= 2
    modem = ring["modems"]["modem1"]
    assert all(len(series) == len(ring["t_s"]) for series in
               (modem["busy_to_module"], modem["busy_from_module"], modem["sockets_in_use"]))
    assert modem["sockets"] == 12 and max(modem["sockets_in_use"]) == 1
    assert modem["busy_from_module"][-1] > 0 and modem["busy_to_module"][-1] >= 0
    assert ring["queued"][-1] == 0
    (conn,) = page["connections"]
    assert conn["rate_down_bps"] > 0 and conn["rate_up_bps"] == 0.0


async def test_the_ring_keeps_the_last_five_minutes(emulator, echo_server, ca_file, nursery):
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}")
    history = service.history
    start = trio.current_time()
    for n in range(SAMPLES + 20):
        history.sample(start + n * history.interval)
    ring = history.as_dict()
    assert len(ring["t_s"]) == SAMPLES
    assert ring["t_s"][-1] - ring["t_s"][0] == (SAMPLES - 1) * history.interval
    assert all(share == 0.0 for share in ring["modems"]["modem1"]["busy_from_module"][1:])


async def test_the_proxy_samples_on_its_own_while_the_page_is_served(
        emulator, echo_server, ca_file, nursery):
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file), "--status", "0",
                                "--map", f"0=echo.test:{echo_server.port}")
    await wait_until(lambda: len(service.history.samples) >= 1, within=10)
    page = await status_json(service.status_address)
    assert page["history"]["t_s"][0] > 0 and list(page["history"]["modems"]) == ["modem1"]


async def test_the_page_embeds_the_json_and_runs_only_its_own_script(
        emulator, echo_server, ca_file, nursery):
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file), "--status", "0",
                                "--map", f"0=echo.test:{echo_server.port}")
    async with await trio.open_tcp_stream(service.status_address.host,
                                          service.status_address.port) as stream:
        await stream.send_all(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := await stream.receive_some(65536):
            data += chunk
    head, _, body = data.decode().partition("\r\n\r\n")
    policy = re.search(r"^Content-Security-Policy: (.*)$", head, re.MULTILINE)
    assert policy is not None
    script = re.search(r"<script>(.*?)</script>", body, re.DOTALL)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script[1].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy[1]
    assert "connect-src 'self'" in policy[1] and "unsafe" not in policy[1]
    embedded = re.search(r'<script type="application/json" id="status-data">(.*?)</script>',
                         body, re.DOTALL)
    assert embedded is not None
    page = json.loads(embedded[1])
    assert page["maps"][0]["remote"] == f"echo.test:{echo_server.port}"
    assert "history" in page and "<h2>Connections</h2>" in body
    status, _ = await http_get(service.status_address, "/")
    assert status == 200

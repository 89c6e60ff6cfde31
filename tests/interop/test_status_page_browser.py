"""The status page in a real headless browser (Debian's chromium) while curl
downloads through the proxy: the page loads with no console error, draws
its SVG, fetches nothing from another origin, and its figures change without
a reload.

Chromium is driven over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: JSON messages ending in NUL on file
descriptors 3 and 4), so no Python package beyond the standard library is
needed.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from .conftest import SERVER_NAME, Certs, require, run_nginx, run_proxy

pytestmark = pytest.mark.interop

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--remote-debugging-pipe")
DOWNLOAD_SIZE = 8 * 1024 * 1024


class Browser:
    """One headless chromium and one page, spoken to over the DevTools pipe.

    Every event is kept in ``events``; ``call`` sends a command to the page
    and returns its result, failing the test on an error or after ``timeout``.
    """

    def __init__(self, process: subprocess.Popen[bytes], commands: int, replies: int) -> None:
        self.process = process
        self.commands = commands
        self.replies = replies
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None
        self._buffer = b""
        self._next = 0

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.replies], [], [], max(0.0, left))
            if not ready:
                pytest.fail("chromium did not answer in time", pytrace=False)
            chunk = os.read(self.replies, 1 << 16)
            if not chunk:
                pytest.fail(f"chromium exited ({self.process.poll()})", pytrace=False)
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def call(self, method: str, params: dict[str, Any] | None = None, *,
             browser: bool = False, timeout: float = 20.0) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if not browser:
            message["sessionId"] = self.session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") != self._next:
                self.events.append(reply)
                continue
            if "error" in reply:
                pytest.fail(f"{method}: {reply['error']}", pytrace=False)
            result: dict[str, Any] = reply["result"]
            return result

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (a thrown error fails)."""
        result = self.call("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True})
        if "exceptionDetails" in result:
            pytest.fail(f"{expression}: {result['exceptionDetails']}", pytrace=False)
        return result["result"].get("value")

    def errors(self) -> list[str]:
        """What the page reported as errors: console errors, uncaught exceptions, and
        the browser's own error entries (a failed load, a blocked fetch)."""
        self.call("Runtime.evaluate", {"expression": "0"})  # collect pending events
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                found.append(f"console.{params['type']}: {params['args']}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails']}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(f"log: {params['entry']}")
        return found

    def requested(self) -> list[str]:
        return [event["params"]["request"]["url"] for event in self.events
                if event.get("method") == "Network.requestWillBeSent"]


@contextmanager
def chromium(log: Path) -> Iterator[Browser]:
    """A headless chromium with a fresh profile and one blank page, attached."""
    program = require("chromium")
    commands_read, commands = os.pipe()
    replies, replies_write = os.pipe()
    profile = tempfile.mkdtemp(prefix="chromium-")
    # Chromium reads commands on fd 3 and writes replies on fd 4; bash puts them there.
    shell = f'exec "$@" 3<&{commands_read} 4>&{replies_write} {commands_read}<&- {replies_write}>&-'
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-c", shell, "bash", program, *CHROMIUM_FLAGS,
             f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(commands_read, replies_write), stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT)
    os.close(commands_read)
    os.close(replies_write)
    browser = Browser(process, commands, replies)
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"}, browser=True)
        attached = browser.call("Target.attachToTarget",
                                {"targetId": target["targetId"], "flatten": True}, browser=True)
        browser.session = attached["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            browser.call(f"{domain}.enable")
        yield browser
    finally:
        process.kill()
        process.wait(timeout=10)
        os.close(commands)
        os.close(replies)
        subprocess.run(["rm", "-rf", profile], check=False)


FIGURES = """(() => {
  const one = s => { const n = document.querySelector(s); return n ? n.textContent : null; };
  return {
    refreshes: window.statusPage ? window.statusPage.refreshes : -1,
    mark: window.testMark || null,
    bytes: one("#connections [data-connection] [data-figure=bytes]"),
    rate: one("#connections [data-connection] [data-figure=rate_down]"),
    busy_from: one("#modems [data-figure=busy_from_module]"),
    sockets: one("#modems [data-figure=sockets_in_use]"),
    busy_points: Math.max(0, ...[...document.querySelectorAll("#modems polyline.from")]
                                .map(p => Number(p.dataset.points))),
    socket_cells: document.querySelectorAll("#modems rect.used, #modems rect.free").length,
    bars: document.querySelectorAll("#connections svg rect").length,
    table_rows: document.querySelectorAll("#tables [data-key=connections] tr").length,
  };
})()"""


def wait_for(browser: Browser, ready: str, what: str, within: float = 20.0) -> dict[str, Any]:
    """The page's figures once ``ready`` (a Python expression over ``f``) holds."""
    deadline = time.monotonic() + within
    while True:
        figures: dict[str, Any] = browser.evaluate(FIGURES)
        if eval(ready, {}, {"f": figures}):  # noqa: S307 - the test's own expressions
            return figures
        if time.monotonic() > deadline:
            pytest.fail(f"the page never showed {what}: {figures}", pytrace=False)
        time.sleep(0.2)


def test_the_status_page_draws_live_figures_in_chromium(tmp_path: Path, certs: Certs) -> None:
    root = tmp_path / "nginx"
    (root / "www").mkdir(parents=True)
    (root / "tmp").mkdir()
    (root / "www" / "big.bin").write_bytes(os.urandom(DOWNLOAD_SIZE))
    with run_nginx(root, certs, tmp_path / "nginx.log") as port, \
            run_proxy(tmp_path, "--cacert", str(certs.ca_pem), "--emulate-baud", "3000000",
                      "--map", f"0={SERVER_NAME}:{port}") as proxy:
        origin = f"http://127.0.0.1:{proxy.status_port}"
        download = subprocess.Popen(
            [require("curl"), "--silent", "--noproxy", "*", "--limit-rate", "150k",
             "--header", f"Host: {SERVER_NAME}", "--output", "/dev/null",
             f"http://127.0.0.1:{proxy.port()}/big.bin"])
        try:
            with chromium(tmp_path / "chromium.log") as browser:
                browser.call("Page.navigate", {"url": origin + "/"})
                first = wait_for(browser, "f['bytes'] and f['refreshes'] >= 1",
                                 "a connection after a refresh")
                browser.evaluate("window.testMark = 'same page'")
                later = wait_for(browser, f"f['refreshes'] >= {first['refreshes'] + 2}",
                                 "two more refreshes")
                assert later["mark"] == "same page"  # refreshed in place, never reloaded
                assert later["bytes"] != first["bytes"], (first, later)
                assert re.fullmatch(r"down [\d.]+ [kM]?B/s", later["rate"]), later
                busy = re.fullmatch(r"([\d.]+)%", later["busy_from"] or "")
                assert busy and float(busy[1]) > 0, later
                assert later["busy_points"] >= 2 and later["sockets"] == "1", later
                assert later["socket_cells"] == 12 and later["bars"] == 2, later
                assert later["table_rows"] == 2, later  # the table's head and one row
                assert browser.errors() == []
                requested = browser.requested()
                assert requested and all(url.startswith(origin + "/") for url in requested)
                assert f"{origin}/status.json" in requested
        finally:
            download.kill()
            download.wait(timeout=10)

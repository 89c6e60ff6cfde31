"""``--status``: a small read-only HTTP/1.0 status page on Trio streams.

``GET /`` answers HTML (``render_html``: the page that draws the JSON and
fetches it again), ``GET /status.json`` JSON, ``GET /metrics`` the
Prometheus text format when a ``metrics`` page is given (``HEAD`` works too);
another path is 404, another method 405, a malformed request 400, and a
snapshot that fails (a bug: it must not raise) 500 with the error logged.  One
request per connection (``Connection: close``); a request head must arrive
within ``REQUEST_TIMEOUT`` seconds and fit in ``MAX_HEAD`` bytes.

The content comes from ``snapshot()``: a JSON-able dict with ``service``,
``module``, ``maps``, ``connections`` and ``counters`` (see
``ProxyService.status_snapshot``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from importlib import resources
from typing import Any

import trio

log = logging.getLogger("proxy.status")

MAX_HEAD = 8192
REQUEST_TIMEOUT = 10.0

Snapshot = Callable[[], Awaitable[dict[str, Any]]]
MetricsPage = Callable[[], Awaitable[bytes]]
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            408: "Request Timeout", 431: "Request Header Fields Too Large",
            500: "Internal Server Error"}


class BadRequest(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


async def read_head(stream: trio.abc.Stream) -> bytes:
    """The request head up to the blank line; ``BadRequest`` when too long or cut short."""
    data = b""
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            end = data.find(b"\n\n")
        if end > MAX_HEAD:
            raise BadRequest(431)
        if end >= 0:
            return data[:end]
        if len(data) > MAX_HEAD:
            raise BadRequest(431)
        chunk = await stream.receive_some(4096)
        if not chunk:
            raise BadRequest(400)
        data += chunk


def parse_request_line(head: bytes) -> tuple[str, str]:
    """(method, path without query) from the first line of ``head``."""
    try:
        line = head.split(b"\n", 1)[0].rstrip(b"\r").decode("ascii")
    except UnicodeDecodeError:
        raise BadRequest(400) from None
    parts = line.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/") or not parts[1].startswith("/"):
        raise BadRequest(400)
    return parts[0], parts[1].split("?", 1)[0]


def response(status: int, content_type: str, body: bytes, *, head_only: bool = False,
             policy: str | None = None) -> bytes:
    """The bytes of a whole response; ``policy``: a Content-Security-Policy."""
    headers = [
        f"HTTP/1.0 {status} {_REASONS.get(status, 'Error')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Cache-Control: no-store",
        "Connection: close",
        *([f"Content-Security-Policy: {policy}"] if policy else []),
    ]
    if status == 405:
        headers.append("Allow: GET, HEAD")
    return ("\r\n".join(headers) + "\r\n\r\n").encode("ascii") + (b"" if head_only else body)


def _error(status: int, head_only: bool = False) -> bytes:
    text = f"{status} {_REASONS.get(status, 'Error')}\n".encode("ascii")
    return response(status, "text/plain; charset=utf-8", text, head_only=head_only)


async def answer(head: bytes, snapshot: Snapshot, metrics: MetricsPage | None = None) -> bytes:
    """The full response bytes for one request head."""
    try:
        method, path = parse_request_line(head)
    except BadRequest as exc:
        return _error(exc.status)
    head_only = method == "HEAD"
    paths = ("/", "/status.json") if metrics is None else ("/", "/status.json", "/metrics")
    if path not in paths:
        return _error(404, head_only)
    if method not in ("GET", "HEAD"):
        return _error(405)
    if path == "/metrics" and metrics is not None:
        return response(200, METRICS_CONTENT_TYPE, await metrics(), head_only=head_only)
    data = await snapshot()
    if path == "/status.json":
        body = (json.dumps(data, indent=2) + "\n").encode("utf-8")
        return response(200, "application/json", body, head_only=head_only)
    return response(200, "text/html; charset=utf-8", render_html(data).encode("utf-8"),
                    head_only=head_only, policy=_template()[1])


async def _answer_or_500(head: bytes, snapshot: Snapshot,
                         metrics: MetricsPage | None = None) -> bytes:
    """``answer``; a failing snapshot is this page's bug, not the service's end."""
    try:
        return await answer(head, snapshot, metrics)
    except Exception:
        log.exception("status snapshot failed")
        return _error(500)


async def handle_request(stream: trio.abc.Stream, snapshot: Snapshot,
                         metrics: MetricsPage | None = None) -> None:
    """Serve one request on ``stream`` and close it."""
    try:
        reply = None
        with trio.move_on_after(REQUEST_TIMEOUT):
            try:
                head = await read_head(stream)
            except BadRequest as exc:
                reply = _error(exc.status)
            else:
                reply = await _answer_or_500(head, snapshot, metrics)
        if reply is None:
            reply = _error(408)
        await stream.send_all(reply)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    finally:
        await trio.aclose_forcefully(stream)


async def serve_status(listeners: Sequence[trio.SocketListener], snapshot: Snapshot, *,
                       metrics: MetricsPage | None = None,
                       task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve the status page (and ``/metrics``) on ``listeners`` until cancelled."""
    await trio.serve_listeners(partial(handle_request, snapshot=snapshot, metrics=metrics),
                               list(listeners), task_status=task_status)


# -- HTML ----------------------------------------------------------------------

_PAGE = "status_page.html"
"""The page (``proxy/ops/status_page.html``, shipped as package data): HTML, CSS and
the script that draws ``/status.json`` as inline SVG and fetches it again."""

_SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Service", "service", ()),
    ("Module", "module", ()),
    ("Modems", "modems", ("name", "device", "state", "ids_in_use", "signal_dbm",
                          "registration", "line_busy", "failing", "opened",
                          "retried_elsewhere", "last_error")),
    ("Maps", "maps", ("listen", "remote", "tls_version", "seclevel", "sni", "name_checked",
                      "allow", "refused")),
    ("Connections", "connections", ("number", "listen", "remote", "peer", "client_id",
                                    "state", "age_s", "bytes_up", "bytes_down",
                                    "rate_up_bps", "rate_down_bps")),
    ("Counters", "counters", ()),
)
"""The tables: heading, the JSON's key, the columns (none: every key of the one row).
The server draws them first; the page's script redraws them from each fetch."""


@functools.cache
def _template() -> tuple[str, str]:
    """The page, and its Content-Security-Policy: only its own script and style
    run (by their hashes), and the only fetch allowed is to its own origin."""
    page = resources.files(__package__).joinpath(_PAGE).read_text(encoding="utf-8")
    script = re.search(r"<script>(.*?)</script>", page, re.DOTALL)
    style = re.search(r"<style>(.*?)</style>", page, re.DOTALL)
    assert script is not None and style is not None, _PAGE

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    policy = (f"default-src 'none'; script-src {digest(script[1])}; "
              f"style-src {digest(style[1])}; connect-src 'self'; img-src data:; "
              "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    return page, policy


def _table(key: str, rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    esc = html.escape
    shown = list(columns) or list(rows[0] if rows else ())
    holder = f'<div data-key="{esc(key)}" data-columns="{esc(",".join(columns))}">'
    if not rows:
        return f"{holder}<p>none</p></div>"
    head = "".join(f"<th>{esc(c)}</th>" for c in shown)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(_text(r.get(c)))}</td>" for c in shown) + "</tr>"
        for r in rows)
    return f"{holder}<table><tr>{head}</tr>{body}</table></div>"


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items()) or "-"
    return str(value)


def _rows(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return value
    return [value] if value else []


def render_html(data: dict[str, Any]) -> str:
    """The human page: ``data`` as tables, and embedded for the script, which draws
    it (per module the line's busy share each way over the last minutes, its
    sockets in use, the queue, each connection's bytes and rate) and refreshes
    it from ``/status.json`` without reloading."""
    tables = "\n".join(f"<h2>{heading}</h2>{_table(key, _rows(data.get(key)), columns)}"
                       for heading, key, columns in _SECTIONS)
    # In a <script> element only "</" could end it early: JSON may escape "<".
    parts = {"VERSION": html.escape(str(data.get("service", {}).get("version", ""))),
             "TABLES": tables, "DATA": json.dumps(data).replace("<", "\\u003c")}
    page, _ = _template()
    # One pass: a value that happens to hold "{{DATA}}" stays as it is.
    return re.sub(r"\{\{(VERSION|TABLES|DATA)\}\}", lambda found: parts[found[1]], page)

"""``--status``: a small read-only HTTP/1.0 status page on Trio streams.

``GET /`` answers HTML, ``GET /status.json`` JSON, ``GET /metrics`` the
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

import html
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
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


def response(status: int, content_type: str, body: bytes, *, head_only: bool = False) -> bytes:
    headers = [
        f"HTTP/1.0 {status} {_REASONS.get(status, 'Error')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Cache-Control: no-store",
        "Connection: close",
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
                    head_only=head_only)


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

_MODEM_COLUMNS = ["name", "device", "state", "ids_in_use", "signal_dbm", "registration",
                  "line_busy", "failing", "opened", "retried_elsewhere", "last_error"]

def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    if not rows:
        return "<p>none</p>"
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(_text(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "-"
    return str(value)


def _module_line(module: dict[str, Any]) -> str:
    """The clock decision and the access mode new sockets open in, in words."""
    clock = module.get("clock") or {}
    text = (f"access mode: {module.get('access_mode', '-')}; module clock: "
            f"{clock.get('source', 'not decided yet')}"
            + (f" ({clock['reason']})" if clock.get("reason") else ""))
    return f"<p>{html.escape(text)}</p>"


def render_html(data: dict[str, Any]) -> str:
    """The human page: the same content as the JSON, as tables."""
    esc = html.escape
    service = data.get("service", {})
    module = data.get("module", {})
    counters = data.get("counters", {})
    parts = [
        "<!DOCTYPE html>",
        "<html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"5\">",
        "<title>ssl-proxy status</title>",
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #aaa;padding:2px 6px;text-align:left}</style>",
        "</head><body>",
        f"<h1>ssl-proxy {esc(str(service.get('version', '')))}</h1>",
        "<h2>Service</h2>", _table([service], list(service)),
        "<h2>Module</h2>", _module_line(module), _table([module], list(module)),
        "<h2>Modems</h2>", _table(data.get("modems", []), _MODEM_COLUMNS),
        "<h2>Maps</h2>", _table(data.get("maps", []),
                                ["listen", "remote", "tls_version", "seclevel", "sni",
                                 "name_checked"]),
        "<h2>Connections</h2>",
        _table(data.get("connections", []),
               ["number", "listen", "remote", "peer", "client_id", "state", "age_s",
                "bytes_up", "bytes_down"]),
        "<h2>Counters</h2>", _table([counters], list(counters)),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"

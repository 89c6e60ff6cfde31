"""What the proxy was doing when a soak client hung: every Trio task's await
stack and the module's channels, taken synchronously when the client has
been idle half its limit and when it gives up (before it closes anything).

A hang leaves no log line behind (nothing happens), so the report keeps these
snapshots for the first few hangs of a run: where each of the proxy's tasks
waits (``Task.iter_await_frames``) and, per AT channel, its sockets, whether it
is lent, and on a DLC the flow-control state of both ends.
"""

from __future__ import annotations

from typing import Any

import trio

__all__ = ["HangRecorder", "proxy_record", "snapshot"]

KEPT = 3  # hung clients whose snapshots a report keeps

OWN_CODE = ("/proxy/", "/modem/")


def _tasks() -> list[trio.lowlevel.Task]:
    out: list[trio.lowlevel.Task] = []
    todo = [trio.lowlevel.current_root_task()]
    while todo:
        task = todo.pop()
        if task is None:
            continue
        out.append(task)
        for nursery in task.child_nurseries:
            todo.extend(nursery.child_tasks)
    return out


def _stack(task: trio.lowlevel.Task) -> list[str]:
    frames = []
    for frame, lineno in task.iter_await_frames():
        path = frame.f_code.co_filename
        if any(part in path for part in OWN_CODE):
            short = path[path.rfind("/", 0, path.rfind("/")) + 1:]
            frames.append(f"{short}:{lineno} {frame.f_code.co_name}")
    return frames


def _channels(service: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pool = getattr(service, "pool", None)
    for member in getattr(pool, "members", []):
        channels = member.modem.channels if member.modem is not None else None
        if channels is None:
            out.append({"modem": member.name, "channels": None})
            continue
        mux = channels.mux
        for ch in channels.channels:
            entry: dict[str, Any] = {"modem": member.name, "name": ch.name,
                                     "sockets": sorted(ch.sockets), "lent": ch.lent}
            dlc = ch.dlc
            if dlc is not None:
                entry.update(peer_signals=str(dlc.peer_signals), stopping_peer=dlc.stopping_peer,
                             pending=dlc.pending, raw=dlc.raw,
                             module_stopped=mux is not None and mux._conn.stopped(dlc.dlci))
            out.append(entry)
    return out


def proxy_record(service: Any, local_port: int) -> Any:
    """The proxy's ``ConnectionRecord`` of the client from ``local_port`` (None
    once the proxy is done with it)."""
    peer = f":{local_port}"
    return next((r for r in service.registry.connections.values() if r.peer.endswith(peer)),
                None)


def _connection(service: Any, local_port: int) -> dict[str, Any] | None:
    record = proxy_record(service, local_port)
    return None if record is None else dict(record.as_dict(trio.current_time()))


def snapshot(service: Any, what: str, local_port: int) -> dict[str, Any]:
    """The proxy's tasks (those with a frame of its own code) and channels now,
    and the record of the connection from ``local_port``."""
    tasks = []
    for task in _tasks():
        stack = _stack(task)
        if stack:
            tasks.append({"name": task.name, "stack": stack})
    return {"what": what, "at": round(trio.current_time(), 3),
            "connection": _connection(service, local_port),
            "channels": _channels(service), "tasks": tasks}


class HangRecorder:
    """``Client.run``'s ``on_hang``: a snapshot when a client has been idle half
    its limit, another when it gives up; ``kept`` gets both for the first
    ``KEPT`` hung clients."""

    def __init__(self, service: Any, kept: list[dict[str, Any]]) -> None:
        self.service = service
        self.kept = kept
        self._halfway: dict[int, dict[str, Any]] = {}

    def __call__(self, result: Any, stage: str) -> None:
        token = result.plan.token
        if len(self.kept) >= KEPT:
            return
        now = snapshot(self.service, stage, result.local_port)
        if stage != "hung":
            self._halfway[token] = now
            return
        self.kept.append({
            "client": f"token {token} ({result.plan.kind}) local port {result.local_port}: "
                      f"sent {result.sent}, received {result.received}",
            "snapshots": [s for s in (self._halfway.pop(token, None), now) if s is not None]})

"""Helpers for the reliability tests: a proxy on the emulator, and what a client sees.

The CA, ``ca_file``, ``server_cert`` and ``echo_server`` are in tests/conftest.py.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio

from proxy.config.build import build_config
from proxy.config.profiles import build_profiles, load_all_material
from proxy.service import ProxyService

ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def proxy_on_emulator(flags: dict[str, Any], **service_options: Any
                            ) -> AsyncIterator[ProxyService]:
    """``ProxyService`` (``--emulate``) built from ``flags`` as the CLI would, serving;
    shut down gracefully on exit."""
    flags = {"emulate": True, **flags}
    service_options.setdefault("linger", 0.1)
    config = build_config(flags)
    service = ProxyService(config, build_profiles(config, load_all_material(config)),
                           **service_options)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        try:
            yield service
        finally:
            # Graceful, as on SIGTERM: a plain cancel would also cancel the
            # emulator while the driver's shielded closes wait for its answers.
            service.request_shutdown()
            with trio.move_on_after(30):
                await service.registry.wait_empty()


def listen_port(service: ProxyService, index: int = 0) -> int:
    return list(service.listen_addresses.values())[index].port


@dataclass
class Seen:
    """What a local client saw: the bytes, and how the stream ended."""

    data: bytes
    end: str  # "eof" (clean), "reset" (error), "open" (still open at the deadline)
    error: str = ""


async def talk(port: int, send: bytes = b"", *, want: int | None = None,
               within: float = 20.0) -> Seen:
    """Connect, send ``send``, read until the end (or ``want`` bytes) and report it."""
    data = bytearray()
    with trio.move_on_after(within):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        try:
            if send:
                await stream.send_all(send)
            while want is None or len(data) < want:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    return Seen(bytes(data), "eof")
                data += chunk
            return Seen(bytes(data), "data")
        except trio.BrokenResourceError as exc:
            return Seen(bytes(data), "reset", str(exc.__cause__ or exc))
        finally:
            await trio.aclose_forcefully(stream)
    return Seen(bytes(data), "open")


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``ssl-proxy ARGS`` as a user runs it (``python -m proxy.cli``)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "proxy.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def messages(caplog: pytest.LogCaptureFixture, level: int = logging.WARNING) -> str:
    """The captured log lines at ``level`` or above, with their key=value fields."""
    out = []
    for record in caplog.records:
        if record.levelno >= level:
            fields = getattr(record, "kv_fields", {}) or {}
            out.append(record.getMessage() + " " + " ".join(f"{k}={v}" for k, v in
                                                            fields.items()))
    return "\n".join(out)

"""systemd ``Type=notify`` with a datagram socket standing in for systemd.

* the proxy as a process (``--emulate``): ``READY=1``, ``STATUS=`` with the
  module's state, ``WATCHDOG=1``, and ``STOPPING=1`` on SIGTERM, on an
  abstract-namespace socket (``@name``, what systemd passes);
* in process, over the emulator on a pty: no ``WATCHDOG=1`` arrives while
  the module is silent (the emulator's ``silence`` fault), and the pings
  come back once it answers again;
* without ``NOTIFY_SOCKET`` there is no notifier.
"""

from __future__ import annotations

import os
import signal
import socket

import trio

from modem.emulator import Fault
from proxy.ops.systemd_notify import SystemdNotifier, notify_address, watchdog_interval
from tests.proxy_helpers import start_proxy, start_proxy_process

WATCHDOG_USEC = 200_000  # pings every 0.1 s


def systemd_socket(name: str) -> socket.socket:
    """What systemd listens on: a datagram socket in the abstract namespace."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.bind("\0" + name)
    return sock


def parse(data: bytes) -> dict[str, str]:
    return dict(line.split("=", 1) for line in data.decode().split("\n"))


async def receive(sock: socket.socket) -> dict[str, str]:
    """The next notification."""
    await trio.lowlevel.wait_readable(sock)
    return parse(sock.recv(4096))


def drain(sock: socket.socket) -> None:
    while True:
        try:
            sock.recv(4096)
        except BlockingIOError:
            return


async def test_ready_status_watchdog_and_stopping_from_the_process(ca_file, tmp_path, nursery):
    name = f"ssl-proxy-test-{os.getpid()}"
    env = {**os.environ, "NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    env.pop("WATCHDOG_PID", None)
    with systemd_socket(name) as sock:
        proxy = await start_proxy_process(
            nursery, tmp_path / "proxy.log", "--emulate", "--cacert", str(ca_file),
            "--map", "0=echo.test:443", ready=None, env=env)
        seen: list[dict[str, str]] = []
        with trio.fail_after(30):
            seen.append(await receive(sock))
            while "WATCHDOG" not in seen[-1]:
                seen.append(await receive(sock))
            proxy.process.send_signal(signal.SIGTERM)
            while "STOPPING" not in seen[-1]:
                seen.append(await receive(sock))
            assert await proxy.wait() == 0
    keys = [key for message in seen for key in message]
    assert keys.index("READY") < keys.index("WATCHDOG") < keys.index("STOPPING")
    assert {"STATUS": "serving; module ready"} in seen
    assert seen[-1] == {"STOPPING": "1", "STATUS": "stopping"}


async def test_watchdog_stops_while_the_module_is_silent(
        emulator, echo_server, ca_file, nursery, monkeypatch):
    name = f"ssl-proxy-test-wd-{os.getpid()}"
    monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    monkeypatch.setenv("WATCHDOG_USEC", str(WATCHDOG_USEC))
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    with systemd_socket(name) as sock:
        await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                          "--map", f"0=echo.test:{echo_server.port}")
        with trio.fail_after(10):
            while "WATCHDOG" not in await receive(sock):
                pass
        await emulator.inject(Fault.silence(1.2))
        # What was on its way before the silence (an OK in the pty, a ping)
        # is let through first: one probe interval, then the queue is emptied.
        await trio.sleep(WATCHDOG_USEC / 2e6)
        drain(sock)
        pings_while_silent = 0
        with trio.fail_after(15):
            while True:
                if "WATCHDOG" not in await receive(sock):
                    continue
                if not emulator.module.line.silent:
                    break  # the module answers again: so do the pings
                pings_while_silent += 1
        assert pings_while_silent == 0


def test_without_notify_socket_nothing_changes():
    assert SystemdNotifier.from_environment({}) is None
    assert SystemdNotifier.from_environment({"NOTIFY_SOCKET": "relative"}) is None
    assert notify_address("@abc") == "\0abc"
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({}) is None

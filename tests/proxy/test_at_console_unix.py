"""``--at-console unix:PATH``: access follows the socket file's permissions.

The console answers AT over the Unix socket; the file is a socket of mode
0660 in the owner's group while the proxy runs and is gone after it; a
stale file from a crashed run is replaced; a live one is refused.
"""

from __future__ import annotations

import os
import socket
import stat
from typing import Any

import pytest
import trio

from proxy.config.build import ConfigError, build_config
from proxy.errors import ListenError
from tests.proxy_helpers import build_service, console_command, proxy_on_emulator

MAP = "0=api.example.com:443"


async def run_service(flags: dict[str, Any]) -> None:
    """``ProxyService.run`` as the CLI builds it; for flags that fail while binding."""
    service = build_service(build_config({"emulate": True, **flags}))
    with trio.fail_after(30):
        await service.run()


async def ask(path, line: str) -> str:
    """The console's answer to ``line`` over the Unix socket ``path``, its lines joined."""
    async with await trio.open_unix_socket(str(path)) as stream:
        with trio.fail_after(20):
            return "\n".join(await console_command(stream, line))


async def test_console_on_a_unix_socket_with_its_mode(tmp_path, ca_file):
    path = tmp_path / "at.sock"
    async with proxy_on_emulator({"map": [MAP], "cacert": str(ca_file),
                                  "at-console": f"unix:{path}"}) as service:
        st = os.stat(path)
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o660
        assert st.st_gid == os.getegid() and st.st_uid == os.geteuid()
        assert service.console_address is None
        assert (await ask(path, "AT")).strip() == "OK"
        assert "+CSQ:" in await ask(path, "AT+CSQ")
        assert "refused" in await ask(path, "AT+QSSLCLOSE=0")
    assert not path.exists()  # removed on exit


async def test_a_stale_socket_file_is_replaced(tmp_path, ca_file):
    path = tmp_path / "at.sock"
    crashed = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    crashed.bind(str(path))
    crashed.close()  # the file stays, nobody accepts: what a crash leaves
    async with proxy_on_emulator({"map": [MAP], "cacert": str(ca_file),
                                  "at-console": f"unix:{path}"}):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
        assert (await ask(path, "AT")).strip() == "OK"
    assert not path.exists()


async def test_a_live_socket_is_refused_and_left_alone(tmp_path, ca_file):
    path = tmp_path / "at.sock"
    live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    live.bind(str(path))
    live.listen()
    try:
        with pytest.raises(ListenError, match="another process serves it"):
            await run_service({"map": [MAP], "cacert": str(ca_file),
                               "at-console": f"unix:{path}"})
        assert stat.S_ISSOCK(os.stat(path).st_mode)  # still the other process's
    finally:
        live.close()


async def test_a_file_that_is_not_a_socket_is_never_touched(tmp_path, ca_file):
    path = tmp_path / "at.sock"
    path.write_text("mine")
    with pytest.raises(ListenError, match="is not a socket"):
        await run_service({"map": [MAP], "cacert": str(ca_file), "at-console": f"unix:{path}"})
    assert path.read_text() == "mine"


async def test_a_missing_directory_says_what_to_do(tmp_path, ca_file):
    with pytest.raises(ListenError, match="does not exist; create it"):
        await run_service({"map": [MAP], "cacert": str(ca_file),
                           "at-console": f"unix:{tmp_path}/no/at.sock"})


def test_config_takes_unix_paths_and_refuses_empty_ones(tmp_path):
    config = build_config({"map": [MAP], "at-console": "unix:/run/ssl-proxy/at.sock"})
    assert str(config.at_console_unix) == "/run/ssl-proxy/at.sock"
    assert config.at_console is None
    assert build_config({"map": [MAP], "at-console": "8023"}).at_console_unix is None
    for bad in ("unix:", "unix:/run/ssl-proxy/"):
        with pytest.raises(ConfigError, match="unix:/run/ssl-proxy/at.sock"):
            build_config({"map": [MAP], "at-console": bad})

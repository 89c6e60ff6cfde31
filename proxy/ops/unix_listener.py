"""A listening Unix socket whose access follows file permissions
(``--at-console unix:/run/ssl-proxy/at.sock``).

The socket file is created mode 0660, group the owner's (effective) group,
before it accepts anyone: only the owner and that group may connect
(connecting needs write permission).  A socket file left by a crashed run
(nobody accepts on it) is replaced; one a live process serves is refused
with a one-line ``ListenError``; any other file at the path is never
touched.  ``UnixSocketFile.remove`` deletes the file on exit, but only if
it is still the one this process made.
"""

from __future__ import annotations

import errno
import os
import socket as stdlib_socket
import stat
from dataclasses import dataclass
from pathlib import Path

import trio

from proxy.errors import ListenError

SOCKET_MODE = 0o660
MAX_PATH_BYTES = 107  # sun_path holds 108 bytes with the final NUL (Linux)


@dataclass(frozen=True)
class UnixSocketFile:
    """The socket file this process created: its path and inode."""

    path: Path
    inode: int

    def remove(self) -> None:
        """Delete the file if it is still ours (a later run may have replaced it)."""
        try:
            if os.stat(self.path).st_ino == self.inode:
                os.unlink(self.path)
        except OSError:
            pass


async def _is_served(path: Path) -> bool:
    """True when a process accepts on the socket file at ``path``."""
    probe = trio.socket.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_STREAM)
    try:
        with trio.move_on_after(2.0):
            await probe.connect(str(path))
            return True
        return True  # connect hangs: a live listener with a full backlog
    except OSError as exc:
        if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
            return False
        raise
    finally:
        probe.close()


async def _clear_stale(path: Path, what: str) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ListenError(f"cannot listen on {path} for {what}: it exists and is not a socket; "
                          "remove it or choose another path")
    try:
        served = await _is_served(path)
    except OSError as exc:
        raise ListenError(f"cannot listen on {path} for {what}: {exc.strerror or exc}") from None
    if served:
        raise ListenError(f"cannot listen on {path} for {what}: another process serves it "
                          "(a second ssl-proxy?); stop it or choose another path")
    os.unlink(path)  # left by a run that crashed


async def open_unix_listener(path: Path, what: str
                             ) -> tuple[trio.SocketListener, UnixSocketFile]:
    """Listen on a Unix socket at ``path`` (mode 0660, the owner's group).

    ``ListenError`` (one line, what to do) when the directory is missing, the
    path is taken, or the socket cannot be made.
    """
    if len(os.fsencode(path)) > MAX_PATH_BYTES:
        raise ListenError(f"cannot listen on {path} for {what}: the path is longer than "
                          f"{MAX_PATH_BYTES} bytes; choose a shorter one")
    if not path.parent.is_dir():
        raise ListenError(f"cannot listen on {path} for {what}: directory {path.parent} "
                          "does not exist; create it (systemd: RuntimeDirectory=ssl-proxy)")
    await _clear_stale(path, what)
    sock = trio.socket.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_STREAM)
    try:
        await sock.bind(str(path))
        made = UnixSocketFile(path, os.stat(path).st_ino)
        try:
            # Before listen(): until then nobody can connect, whatever the umask gave.
            os.chown(path, -1, os.getegid())
            os.chmod(path, SOCKET_MODE)
            sock.listen()
        except BaseException:
            made.remove()
            raise
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {path} for {what}: "
                          f"{exc.strerror or exc}") from None
    except BaseException:
        sock.close()
        raise
    return trio.SocketListener(sock), made

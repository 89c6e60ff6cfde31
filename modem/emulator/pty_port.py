"""The pseudo-terminal the emulated module sits behind.

The host opens the slave side (``PtyPort.device``) like a USB AT port, with
pyserial or ``os.open``.  The module reads and writes the master side, which
is raw (otherwise the kernel echoes and rewrites line ends) and wrapped in a
``trio.lowlevel.FdStream``.  We keep one slave descriptor open ourselves:
without it the master reads ``EIO`` whenever the host has the port closed,
and with it the module keeps serving when the host reopens the port, like a
real module.  That descriptor takes no lock, so pyserial's
``exclusive=True`` (``flock``) still works.
"""

from __future__ import annotations

import os
import tty

import trio


class PtyPort:
    """A pseudo-terminal pair: ``stream`` (master, ours) and ``device`` (slave path)."""

    def __init__(self) -> None:
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        self.device: str = os.ttyname(slave)
        self._slave_fd = slave
        self.stream = trio.lowlevel.FdStream(master)

    async def aclose(self) -> None:
        await self.stream.aclose()
        if self._slave_fd >= 0:
            os.close(self._slave_fd)
            self._slave_fd = -1

"""Fixtures for the multiplexer's Trio layer: a scripted module on a memory stream.

``ScriptedModule`` plays the module's end of the 07.10 line with the
sans-I/O framer: it answers SABM with UA for the DLCs it offers (DM for
others), DISC with UA, and the control channel's commands (MSC, Test,
CLD, PN) with their responses, records every frame the host wrote, and
lets a test write frames of its own (data, MSC with FC, FCoff, garbage).
The emulator, which has its own framer, is the other end in the pty
tests; the framer itself is checked against other implementations'
frames in ``tests/unit/mux``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing

from modem.core.mux import (
    V24,
    ControlMessage,
    Frame,
    FrameDecoder,
    FrameType,
    MessageType,
    ModemStatus,
    Parameters,
    decode_messages,
    encode_frame,
    encode_message,
)
from modem.link.mux_session import MuxOptions

FAST = MuxOptions(start_delay=0, response_timeout=0.2, retries=1, quiet_resync=0.1)


class ScriptedModule:
    """The module's end; ``run`` answers until cancelled."""

    def __init__(self, stream: trio.abc.Stream, dlcs: tuple[int, ...] = (1, 2, 3, 4)) -> None:
        self.stream = stream
        self.dlcs = set(dlcs)
        self.decoder = FrameDecoder()
        self.frames: list[Frame] = []  # every frame the host wrote, in order
        self.data: dict[int, bytearray] = {}
        self.messages: list[ControlMessage] = []
        self.answer = True  # False: a module that has hung
        self.pn_n1: int | None = None  # None: PN not offered (NSC)
        self.lose_status = 0  # the next MSC commands from the host to lose on the line
        self.answer_status = True  # False: firmware that never answers an MSC
        self.got = trio.lowlevel.ParkingLot()
        self._write_lock = trio.Lock()  # the run task answers while a test writes

    async def run(self) -> None:
        try:
            while chunk := await self.stream.receive_some():
                for frame in self.decoder.feed(chunk):
                    self.frames.append(frame)
                    if self.answer:
                        await self.on_frame(frame)
                self.got.unpark_all()
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            return  # the test closed the line

    async def write(self, frame: Frame) -> None:
        await self.write_raw(encode_frame(frame))

    async def write_raw(self, data: bytes) -> None:
        async with self._write_lock:
            await self.stream.send_all(data)

    async def send(self, dlci: int, data: bytes) -> None:
        await self.write(Frame(dlci, FrameType.UIH, info=data))

    async def command(self, kind: MessageType, value: bytes = b"") -> None:
        message = encode_message(ControlMessage(kind, True, value))
        await self.write(Frame(0, FrameType.UIH, info=message))

    async def status(self, dlci: int, signals: V24) -> None:
        await self.command(MessageType.MSC, ModemStatus(dlci, signals).encode())

    async def on_frame(self, frame: Frame) -> None:
        kind, dlci = frame.kind, frame.dlci
        if kind is FrameType.SABM:
            offered = dlci == 0 or dlci in self.dlcs
            await self.write(Frame(dlci, FrameType.UA if offered else FrameType.DM, cr=True,
                                   pf=True))
        elif kind is FrameType.DISC:
            await self.write(Frame(dlci, FrameType.UA, cr=True, pf=True))
        elif kind is FrameType.UIH and dlci:
            self.data.setdefault(dlci, bytearray()).extend(frame.info)
        elif kind is FrameType.UIH:
            for message in decode_messages(frame.info)[0]:
                if message.kind is MessageType.MSC and message.command:
                    if self.lose_status:
                        self.lose_status -= 1
                        continue
                    if not self.answer_status:
                        self.messages.append(message)
                        continue
                self.messages.append(message)
                if message.command:
                    await self.respond(message)

    async def respond(self, message: ControlMessage) -> None:
        value = message.value
        if message.kind is MessageType.PN:
            if self.pn_n1 is None:
                reply = ControlMessage(MessageType.NSC, False, bytes((int(message.kind),)))
            else:
                asked = Parameters.decode(value)
                assert asked is not None
                reply = ControlMessage(MessageType.PN, False,
                                       Parameters(asked.dlci, n1=self.pn_n1).encode())
        else:
            reply = ControlMessage(message.kind, False, value)
        await self.write(Frame(0, FrameType.UIH, info=encode_message(reply)))

    async def wait_for(self, predicate) -> None:
        with trio.fail_after(10):
            while not predicate():
                await self.got.park()

    def signals_sent(self, dlci: int) -> list[V24]:
        """The signals of every MSC command the host sent for ``dlci``."""
        out = []
        for message in self.messages:
            status = ModemStatus.decode(message.value)
            if message.kind is MessageType.MSC and message.command and status and (
                    status.dlci == dlci):
                out.append(status.signals)
        return out


@pytest.fixture
async def line_pair(nursery: trio.Nursery) -> AsyncIterator[tuple[trio.abc.Stream, ScriptedModule]]:
    """The host's end of a memory line and a running scripted module on the other."""
    host, module_end = trio.testing.memory_stream_pair()
    module = ScriptedModule(module_end)
    nursery.start_soon(module.run)
    yield host, module



"""SerialStream over a real pseudo-terminal.

The test holds the pty's master side (raw, non-blocking, wrapped in
``trio.lowlevel.FdStream``) and plays the module; the stream under test opens
the slave by its path, as it would open /dev/ttyUSB2.
"""

from __future__ import annotations

import errno
import hashlib
import os
import pty
import tty
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import serial
import trio
import trio.testing

from modem.core.errors import (
    DeviceBusy,
    DeviceError,
    DeviceNotFound,
    DevicePermissionDenied,
    render,
)
from modem.link.serial_stream import SerialStream, _open_error, open_serial_stream
from tests.helpers import receive_exactly

MIB = 1 << 20
HANG_GUARD = 20  # seconds; only so that a bug fails the test instead of hanging the run


@dataclass
class Pty:
    master: int
    slave: int
    path: str

    def master_stream(self) -> trio.lowlevel.FdStream:
        return trio.lowlevel.FdStream(os.dup(self.master))

    def close_master(self) -> None:
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


@pytest.fixture
def pty_pair() -> Iterator[Pty]:
    master, slave = pty.openpty()
    tty.setraw(master)
    os.set_blocking(master, False)
    pair = Pty(master, slave, os.ttyname(slave))
    try:
        yield pair
    finally:
        pair.close_master()
        os.close(slave)


async def test_mebibyte_each_way_at_once(pty_pair: Pty) -> None:
    up = os.urandom(MIB)
    down = os.urandom(MIB)
    digests: dict[str, str] = {}

    async def receive_and_hash(stream: trio.abc.ReceiveStream, key: str) -> None:
        digest = hashlib.sha256()
        received = 0
        while received < MIB:
            chunk = await stream.receive_some(min(65536, MIB - received))
            assert chunk, f"end of file after {received} bytes"
            digest.update(chunk)
            received += len(chunk)
        digests[key] = digest.hexdigest()

    with trio.fail_after(HANG_GUARD):
        port = await open_serial_stream(pty_pair.path)
        async with port, pty_pair.master_stream() as module, trio.open_nursery() as nursery:
            nursery.start_soon(port.send_all, up)
            nursery.start_soon(module.send_all, down)
            nursery.start_soon(receive_and_hash, module, "up")
            nursery.start_soon(receive_and_hash, port, "down")

    assert digests == {
        "up": hashlib.sha256(up).hexdigest(),
        "down": hashlib.sha256(down).hexdigest(),
    }


async def test_binary_bytes_pass_untouched(pty_pair: Pty) -> None:
    # Every byte value, including CR, LF, XON/XOFF, Ctrl-C/Z, NUL and 0xFF.
    every_byte = bytes(range(256)) * 4
    with trio.fail_after(HANG_GUARD):
        async with await open_serial_stream(pty_pair.path) as port, \
                pty_pair.master_stream() as module:
            await port.send_all(every_byte)
            await port.drain()
            assert await receive_exactly(module, len(every_byte)) == every_byte
            await module.send_all(every_byte)
            assert await receive_exactly(port, len(every_byte)) == every_byte


async def test_vanished_device_reads_as_end_of_file(pty_pair: Pty) -> None:
    results: list[bytes] = []

    async def read_until_lost(port: SerialStream) -> None:
        results.append(await port.receive_some())

    with trio.fail_after(HANG_GUARD):
        async with await open_serial_stream(pty_pair.path) as port:
            module = pty_pair.master_stream()
            await module.send_all(b"\r\nRDY\r\n")
            assert await receive_exactly(port, 7) == b"\r\nRDY\r\n"
            async with trio.open_nursery() as nursery:
                nursery.start_soon(read_until_lost, port)
                await trio.testing.wait_all_tasks_blocked()
                await module.aclose()
                pty_pair.close_master()
            assert results == [b""]
            assert await port.receive_some() == b"", "the loss must stay visible"
            with pytest.raises(trio.BrokenResourceError):
                await port.send_all(b"AT\r")


async def test_missing_device(tmp_path) -> None:
    path = str(tmp_path / "ttyUSB9")
    with pytest.raises(DeviceNotFound) as caught:
        await open_serial_stream(path)
    assert caught.value.path == path
    assert str(caught.value) == f"no such device {path}"
    message = render(caught.value)
    assert message.startswith(f"no such device {path}: ")
    assert "python -m serial.tools.list_ports" in message
    assert "\n" not in message


async def test_not_a_serial_port(tmp_path) -> None:
    path = tmp_path / "plain-file"
    path.write_bytes(b"")
    with pytest.raises(DeviceError) as caught:
        await open_serial_stream(str(path))
    assert type(caught.value) is DeviceError
    assert str(caught.value).startswith(f"cannot use {path} as a serial port: ")


async def test_second_open_is_busy_until_the_first_closes(pty_pair: Pty) -> None:
    first = await open_serial_stream(pty_pair.path)
    async with first:
        with pytest.raises(DeviceBusy) as caught:
            await open_serial_stream(pty_pair.path)
        assert caught.value.path == pty_pair.path
        assert "exclusive lock" in render(caught.value)
    async with await open_serial_stream(pty_pair.path):
        pass


async def test_closed_stream_refuses_every_call(pty_pair: Pty) -> None:
    port = await open_serial_stream(pty_pair.path)
    await port.aclose()
    await port.aclose()  # idempotent
    assert port.fileno() == -1
    with pytest.raises(trio.ClosedResourceError):
        await port.send_all(b"AT\r")
    with pytest.raises(trio.ClosedResourceError):
        await port.send_all(b"")
    with pytest.raises(trio.ClosedResourceError):
        await port.receive_some()
    with pytest.raises(trio.ClosedResourceError):
        await port.wait_send_all_might_not_block()
    with pytest.raises(trio.ClosedResourceError):
        await port.drain()


async def test_aclose_wakes_blocked_tasks_and_releases_the_port(pty_pair: Pty) -> None:
    # Nobody reads the master side, so the sender fills the kernel buffers and blocks.
    outcomes: dict[str, type[BaseException]] = {}

    async def expect_closed(name: str, call) -> None:
        try:
            await call()
        except trio.ClosedResourceError as exc:
            outcomes[name] = type(exc)

    with trio.fail_after(HANG_GUARD):
        port = await open_serial_stream(pty_pair.path)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(expect_closed, "receive", port.receive_some)
            nursery.start_soon(expect_closed, "send", lambda: port.send_all(bytes(4 * MIB)))
            await trio.testing.wait_all_tasks_blocked()
            await port.aclose()
        assert outcomes == {
            "receive": trio.ClosedResourceError,
            "send": trio.ClosedResourceError,
        }
        async with await open_serial_stream(pty_pair.path):
            pass


async def test_cancelled_aclose_still_closes(pty_pair: Pty) -> None:
    port = await open_serial_stream(pty_pair.path)
    with trio.CancelScope() as scope:
        scope.cancel()
        await port.aclose()
    assert scope.cancelled_caught
    with pytest.raises(trio.ClosedResourceError):
        await port.receive_some()


async def test_one_task_at_a_time_per_direction(pty_pair: Pty) -> None:
    async with await open_serial_stream(pty_pair.path) as port, trio.open_nursery() as nursery:
        nursery.start_soon(port.receive_some)
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(trio.BusyResourceError):
            await port.receive_some()
        nursery.cancel_scope.cancel()


async def test_receive_some_rejects_bad_sizes(pty_pair: Pty) -> None:
    async with await open_serial_stream(pty_pair.path) as port:
        for bad in (0, -1):
            with pytest.raises(ValueError):
                await port.receive_some(bad)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (serial.SerialException(errno.ENOENT, "could not open port /dev/x: [Errno 2] No such "
                                "file or directory: '/dev/x'"), DeviceNotFound),
        (serial.SerialException(errno.EACCES, "could not open port /dev/x: [Errno 13] "
                                "Permission denied: '/dev/x'"), DevicePermissionDenied),
        (serial.SerialException(errno.EWOULDBLOCK, "Could not exclusively lock port /dev/x: "
                                "[Errno 11] Resource temporarily unavailable"), DeviceBusy),
        (serial.SerialException(errno.EBUSY, "could not open port /dev/x: [Errno 16] Device "
                                "or resource busy: '/dev/x'"), DeviceBusy),
        # Text only, no errno attribute.
        (serial.SerialException("could not open port /dev/x: [Errno 13] Permission denied"),
         DevicePermissionDenied),
        (serial.SerialException("could not open port /dev/x: [Errno 19] No such device"),
         DeviceNotFound),
        (serial.SerialException("Could not exclusively lock port /dev/x: [Errno 11]"),
         DeviceBusy),
        (serial.SerialException("Could not configure port: (5, 'Input/output error')"),
         DeviceError),
    ],
)
def test_open_errors_are_typed(exc: OSError, expected: type[DeviceError]) -> None:
    error = _open_error("/dev/x", exc)
    assert type(error) is expected
    assert error.path == "/dev/x"
    assert "/dev/x" in str(error)
    assert "\n" not in str(error)

"""A Trio stream over a serial port (the bottom of the Trio shell: docs/architecture.md).

The port is opened by pyserial, which configures it raw and opens it
``O_NONBLOCK``; bytes then move with ``os.read``/``os.write`` on its file
descriptor, waiting with ``trio.lowlevel.wait_readable``/``wait_writable``
(the pattern of ``trio.lowlevel.FdStream``): no thread per byte.  Only the
calls that can block in the kernel (open, ``tcdrain``, close) run in worker
threads.

A vanished device (USB unplugged, module reset, pty master closed) is not an
error on the receive side: it reads as ``b""``, exactly like end of file, and
the driver treats both as "module lost".  On the send side it raises
``trio.BrokenResourceError``.
"""

from __future__ import annotations

import errno
import os
import termios
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, TypeVar, final

import serial
import trio

from modem.core.commands import DEFAULT_LINE_BAUD
from modem.core.errors import DeviceBusy, DeviceError, DeviceNotFound, DevicePermissionDenied
from modem.link.conflict import OneTaskAtATime

if TYPE_CHECKING:
    from outcome import Outcome

__all__ = ["DEFAULT_RECEIVE_SIZE", "SerialStream", "open_serial_stream"]

DEFAULT_RECEIVE_SIZE = 65536

# errno values that mean the device is gone rather than that we misused it.
_LOST_ERRNOS = frozenset({errno.EIO, errno.ENXIO, errno.ENODEV, errno.EBADF})

T = TypeVar("T")


async def _in_worker_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a worker thread that is started even if we are already cancelled.

    Cancelling the wait abandons the thread; ``fn`` still runs to the end, so
    ``fn`` must release whatever it was given.
    """
    token = trio.lowlevel.current_trio_token()
    done = trio.Event()
    results: list[Outcome[T]] = []

    def deliver(result: Outcome[T]) -> None:
        results.append(result)
        try:
            token.run_sync_soon(done.set)
        except trio.RunFinishedError:
            pass

    trio.lowlevel.start_thread_soon(fn, deliver, name="serial port")
    await done.wait()
    return results[0].unwrap()


def _close_port(port: serial.Serial) -> None:
    # Discard unsent output first: closing a tty waits (up to its closing_wait,
    # 30 s by default) for pending output, forever-ish when RTS/CTS holds it.
    # The flush also wakes a tcdrain() stuck in another thread.
    fd = port.fd
    if fd is not None:
        try:
            termios.tcflush(fd, termios.TCOFLUSH)
        except (OSError, termios.error):
            pass
    try:
        port.close()
    except OSError:
        # Linux has released the descriptor anyway; make sure pyserial never
        # closes that number again (it may belong to someone else by now).
        port.fd = None


def _read_at_least_one(fd: int) -> None:
    """VMIN=1, VTIME=0: pyserial leaves VMIN=0, under which a tty read with no
    data returns 0 bytes (looks like end of file) instead of ``EAGAIN``."""
    attrs = termios.tcgetattr(fd)
    attrs[6][termios.VMIN] = 1
    attrs[6][termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


@final
class SerialStream(trio.abc.Stream):
    """A ``trio.abc.Stream`` over an open, non-blocking pyserial port.

    Takes ownership of ``port``: ``aclose`` closes it.  Use
    :func:`open_serial_stream` to get one.

    - ``receive_some`` returns ``b""`` at end of file and when the device has
      vanished (``EIO``, ``ENXIO``, ``ENODEV``, ``EBADF``); other read errors
      raise ``trio.BrokenResourceError``.
    - ``send_all`` raises ``trio.BrokenResourceError`` when a write fails. It
      returns when the kernel has the bytes; ``drain`` waits until they are on
      the wire.
    - One task at a time may send (``send_all``, ``wait_send_all_might_not_block``,
      ``drain``) and one may receive; a second gets ``trio.BusyResourceError``.
    - After ``aclose`` every call raises ``trio.ClosedResourceError``, including
      calls that were waiting when it was closed.
    """

    def __init__(self, port: serial.Serial) -> None:
        if not port.is_open:
            raise ValueError("the serial port must be open")
        self._port: serial.Serial | None = port
        self._fd: int = port.fileno()
        os.set_blocking(self._fd, False)
        _read_at_least_one(self._fd)
        self.path: str = str(port.port)  # an open port always has its path
        self._sending = OneTaskAtATime("another task is sending on this serial stream")
        self._receiving = OneTaskAtATime("another task is receiving from this serial stream")

    def __repr__(self) -> str:
        state = "closed" if self._port is None else "open"
        return f"<SerialStream {self.path} {state}>"

    def fileno(self) -> int:
        """The port's file descriptor, or -1 once closed."""
        return self._fd

    def _open_fd(self) -> int:
        if self._port is None:
            raise trio.ClosedResourceError(f"serial stream {self.path} was closed")
        return self._fd

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        with self._sending:
            self._open_fd()
            # Write first and yield after (as trio's sockets do): a command
            # goes out without waiting for a turn of the scheduler.
            await trio.lowlevel.checkpoint_if_cancelled()
            with memoryview(data) as view, view.cast("B") as octets:
                sent = 0
                while sent < len(octets):
                    fd = self._open_fd()
                    try:
                        with octets[sent:] as rest:
                            sent += os.write(fd, rest)
                    except BlockingIOError:
                        await trio.lowlevel.wait_writable(fd)
                    except OSError as exc:
                        raise trio.BrokenResourceError(
                            f"writing to {self.path} failed: {exc}"
                        ) from exc
            await trio.lowlevel.cancel_shielded_checkpoint()

    async def wait_send_all_might_not_block(self) -> None:
        with self._sending:
            await trio.lowlevel.wait_writable(self._open_fd())

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        with self._receiving:
            if max_bytes is None:
                max_bytes = DEFAULT_RECEIVE_SIZE
            elif not isinstance(max_bytes, int) or max_bytes < 1:
                raise ValueError("max_bytes must be an integer >= 1")
            self._open_fd()
            await trio.lowlevel.checkpoint()
            while True:
                fd = self._open_fd()
                try:
                    return os.read(fd, max_bytes)
                except BlockingIOError:
                    await trio.lowlevel.wait_readable(fd)
                except OSError as exc:
                    if exc.errno in _LOST_ERRNOS:
                        return b""
                    raise trio.BrokenResourceError(
                        f"reading from {self.path} failed: {exc}"
                    ) from exc

    @property
    def speed(self) -> int:
        """The line speed the port is set to (baud)."""
        port = self._port
        return int(port.baudrate) if port is not None else 0

    async def set_speed(self, baud: int) -> None:
        """Set the line speed (``modem.link.line_speed``), dropping unread input:
        what came at the old speed is garbage at the new one."""
        port = self._port
        if port is None:
            raise trio.ClosedResourceError(f"serial stream {self.path} was closed")
        try:
            port.baudrate = baud  # pyserial reconfigures the port: VMIN back to 0
            _read_at_least_one(self._fd)
            termios.tcflush(self._fd, termios.TCIFLUSH)
        except (OSError, ValueError, termios.error) as exc:
            raise DeviceError(self.path, f"cannot set {baud} baud: {exc}") from exc
        await trio.lowlevel.checkpoint()

    async def drain(self) -> None:
        """Wait until everything written so far has been transmitted (``tcdrain``).

        Runs in a worker thread; cancelling abandons the wait.  Raises
        ``trio.BrokenResourceError`` if the device has vanished.
        """
        with self._sending:
            # A private descriptor: an abandoned thread must never drain a
            # number that aclose() has freed and someone else has reused.
            fd = os.dup(self._open_fd())

            def drain_copy() -> None:
                try:
                    termios.tcdrain(fd)
                finally:
                    os.close(fd)

            try:
                await _in_worker_thread(drain_copy)
            except (OSError, termios.error) as exc:
                raise trio.BrokenResourceError(f"draining {self.path} failed: {exc}") from exc

    async def aclose(self) -> None:
        """Close the port, discarding output not yet transmitted (``drain`` first to keep it).

        Never hangs: if cancelled, the close finishes in the background.
        """
        port, self._port = self._port, None
        if port is None:
            await trio.lowlevel.checkpoint()
            return
        fd, self._fd = self._fd, -1
        trio.lowlevel.notify_closing(fd)
        await _in_worker_thread(partial(_close_port, port))


async def open_serial_stream(
    path: str, *, baudrate: int = DEFAULT_LINE_BAUD, rtscts: bool = False
) -> SerialStream:
    """Open the serial device ``path`` exclusively, 8N1, and wrap it in a :class:`SerialStream`.

    ``rtscts`` turns on hardware flow control.  Raises :class:`DeviceNotFound`,
    :class:`DevicePermissionDenied`, :class:`DeviceBusy` (another process
    holds the port's lock) or :class:`DeviceError`, each with advice in its
    message.
    """
    open_port = partial(
        serial.Serial,
        port=path,
        baudrate=baudrate,
        rtscts=rtscts,
        exclusive=True,
        timeout=0,
        write_timeout=0,
    )
    try:
        port = await trio.to_thread.run_sync(open_port)
    except OSError as exc:  # serial.SerialException is an OSError
        raise _open_error(path, exc) from exc
    return SerialStream(port)


_ERRNO_ERRORS: dict[int, type[DeviceError]] = {
    errno.ENOENT: DeviceNotFound,
    errno.ENOTDIR: DeviceNotFound,
    errno.ENODEV: DeviceNotFound,
    errno.ENXIO: DeviceNotFound,
    errno.EACCES: DevicePermissionDenied,
    errno.EPERM: DevicePermissionDenied,
    errno.EBUSY: DeviceBusy,
    errno.EAGAIN: DeviceBusy,  # flock(LOCK_NB) on a locked port
    errno.EWOULDBLOCK: DeviceBusy,
}

# pyserial does not always keep the errno (some paths raise with the text only).
_TEXT_ERRORS: tuple[tuple[str, type[DeviceError]], ...] = (
    ("exclusively lock", DeviceBusy),
    ("resource busy", DeviceBusy),
    ("resource temporarily unavailable", DeviceBusy),
    ("no such file", DeviceNotFound),
    ("no such device", DeviceNotFound),
    ("permission denied", DevicePermissionDenied),
    ("operation not permitted", DevicePermissionDenied),
)


def _open_error(path: str, exc: OSError) -> DeviceError:
    """The typed error for a failed open of ``path``."""
    text = str(exc)
    low = text.lower()
    if "exclusively lock" in low:
        return DeviceBusy(path, text)
    cls = _ERRNO_ERRORS.get(exc.errno) if exc.errno is not None else None
    if cls is None:
        cls = next((kind for needle, kind in _TEXT_ERRORS if needle in low), DeviceError)
    return cls(path, text)

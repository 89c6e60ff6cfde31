"""Exceptions raised by the modem layer.

Quectel's SSL error codes (manual chapter 5, "Summary of Error Codes", codes
550-574) each get one exception class carrying ``code`` and the manual's
``meaning``.  ``error_for_code`` maps a code, from ``+CME ERROR: <n>``, from
the ``<err>`` of ``+QSSLOPEN: <id>,<err>`` or from ``AT+QIGETERROR``, to an
instance of the right class.

``map_exceptions`` is how a boundary turns a foreign family of exceptions
(Trio's, the operating system's) into these types: once, where the foreign
call is made, so callers above it only ever see ``ModemError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

ExceptionMapping = Mapping[type[Exception], Callable[[Exception], Exception]]
"""A foreign exception type -> a function that makes our exception from one."""


@contextmanager
def map_exceptions(mapping: ExceptionMapping) -> Iterator[None]:
    """Re-raise an exception of a type in ``mapping`` as ``mapping[type](exc)``.

    The first matching entry wins (in the mapping's order); the original
    exception becomes the new one's ``__cause__``.  Exceptions of other types
    pass through unchanged.
    """
    try:
        yield
    except Exception as exc:
        for foreign, make in mapping.items():
            if isinstance(exc, foreign):
                raise make(exc) from exc
        raise


class ModemError(Exception):
    """Base of every error the modem layer raises."""


class AtProtocolError(ModemError):
    """The AT protocol was broken.

    ``side`` says who broke it: ``"host"`` (our code used the protocol object
    wrongly, e.g. a second command while one is in flight) or ``"module"``.
    """

    def __init__(self, message: str, side: str = "host") -> None:
        super().__init__(message)
        self.side = side


class ModuleLost(ModemError):
    """The serial device vanished or the module stopped answering."""


class ModuleNotReady(ModuleLost):
    """Refused at once: the module is being recovered (lost, restarting, PDP down).

    ``state`` is the module's state (``"recovering"``), ``last_error`` the
    failure that started the recovery (or the latest reopen's), if known.
    Callers fail fast instead of waiting out the recovery; new requests
    work again by themselves once the module is back.
    """

    def __init__(self, state: str, last_error: BaseException | None = None) -> None:
        self.state = state
        self.last_error = last_error
        why = f" after: {last_error}" if last_error is not None else ""
        super().__init__(f"module is {state}{why}; try again when it is back")


class ModuleTimeout(ModemError):
    """A command got no final result within its manual-given time."""


class CommandError(ModemError):
    """A command answered a bare ``ERROR`` (no code to tell why)."""

    def __init__(self, command: str, detail: str = "") -> None:
        msg = f"{command} answered ERROR"
        if detail:
            msg += f": {detail}"
        super().__init__(msg)
        self.command = command


class SendBufferFull(ModemError):
    """``SEND FAIL``: the module's send buffer is full; retry later (manual 2.1.3)."""


class SendStalled(ModemError):
    """A chunk found no room in the module's send buffer for ``seconds``.

    The module kept answering ``SEND FAIL`` (manual 2.1.3): the remote stopped
    reading or the network stopped carrying.  Whether the last chunk was taken
    is unknown once the limit cuts a send short, so the socket is failed for good.
    """

    def __init__(self, client_id: int, seconds: float) -> None:
        super().__init__(f"send on socket {client_id} stalled: the module's send buffer "
                         f"stayed full for {seconds:g} s")
        self.client_id = client_id
        self.seconds = seconds


class PushOverrun(ModemError):
    """A push-mode socket's reader fell so far behind that the pushed bytes
    passed the hard bound (``modem.core.push_flow``) before the module switched
    to buffer mode; the socket fails rather than grow or drop data."""

    def __init__(self, client_id: int, limit: int) -> None:
        super().__init__(f"socket {client_id}: more than {limit} pushed bytes waited for a slow "
                         "reader; use --access-mode buffer if this repeats")
        self.client_id = client_id
        self.limit = limit


class OpenOutcomeLost(ModemError):
    """An open answered ``OK`` but its ``+QSSLOPEN`` URC never came, and
    ``AT+QSSLSTATE`` shows it did not connect (nor ``AT+QIGETERROR`` why)."""

    def __init__(self, command: str, state: str) -> None:
        super().__init__(f"{command}: failed without its +QSSLOPEN URC (AT+QSSLSTATE: {state});"
                         " if no URC ever arrives, check AT+QURCCFG=\"urcport\"")
        self.command = command
        self.state = state


class CmeError(ModemError):
    """``+CME ERROR: <n>``, or an ``<err>`` code reported by a URC.

    ``code`` is the number (or ``None`` for a verbose text we could not map),
    ``meaning`` the manual's (or 3GPP 27.007's) text for it.
    """

    code: int | None = None
    meaning: str = "unknown error"

    def __init__(self, code: int | None = None, meaning: str | None = None,
                 command: str | None = None) -> None:
        if code is not None:
            self.code = code
        if meaning is not None:
            self.meaning = meaning
        self.command = command
        where = f"{command}: " if command else ""
        num = f"error {self.code}" if self.code is not None else "error"
        super().__init__(f"{where}{num} ({self.meaning})")


class SslError(CmeError):
    """One of the SSL/TCP/IP error codes 550-574 (manual chapter 5)."""


class UnknownError(SslError):
    """550: Unknown error."""

    code = 550
    meaning = "Unknown error"


class OperationBlocked(SslError):
    """551: Operation blocked."""

    code = 551
    meaning = "Operation blocked"


class InvalidParameter(SslError):
    """552: Invalid parameter."""

    code = 552
    meaning = "Invalid parameter"


class MemoryNotEnough(SslError):
    """553: Memory not enough."""

    code = 553
    meaning = "Memory not enough"


class CreateSocketFailed(SslError):
    """554: Create socket failed."""

    code = 554
    meaning = "Create socket failed"


class OperationNotSupported(SslError):
    """555: Operation not supported."""

    code = 555
    meaning = "Operation not supported"


class SocketBindFailed(SslError):
    """556: Socket bind failed."""

    code = 556
    meaning = "Socket bind failed"


class SocketListenFailed(SslError):
    """557: Socket listen failed."""

    code = 557
    meaning = "Socket listen failed"


class SocketWriteFailed(SslError):
    """558: Socket write failed."""

    code = 558
    meaning = "Socket write failed"


class SocketReadFailed(SslError):
    """559: Socket read failed."""

    code = 559
    meaning = "Socket read failed"


class SocketAcceptFailed(SslError):
    """560: Socket accept failed."""

    code = 560
    meaning = "Socket accept failed"


class OpenPdpContextFailed(SslError):
    """561: Open PDP context failed."""

    code = 561
    meaning = "Open PDP context failed"


class ClosePdpContextFailed(SslError):
    """562: Close PDP context failed."""

    code = 562
    meaning = "Close PDP context failed"


class SocketIdentityUsed(SslError):
    """563: Socket identity has been used."""

    code = 563
    meaning = "Socket identity has been used"


class DnsBusy(SslError):
    """564: DNS busy."""

    code = 564
    meaning = "DNS busy"


class DnsParseFailed(SslError):
    """565: DNS parse failed."""

    code = 565
    meaning = "DNS parse failed"


class SocketConnectionFailed(SslError):
    """566: Socket connection failed."""

    code = 566
    meaning = "Socket connection failed"


class SocketClosed(SslError):
    """567: Socket has been closed."""

    code = 567
    meaning = "Socket has been closed"


class OperationBusy(SslError):
    """568: Operation busy."""

    code = 568
    meaning = "Operation busy"


class OperationTimeout(SslError):
    """569: Operation timeout."""

    code = 569
    meaning = "Operation timeout"


class PdpContextBrokeDown(SslError):
    """570: PDP context break down."""

    code = 570
    meaning = "PDP context break down"


class SendCancelled(SslError):
    """571: Cancel send."""

    code = 571
    meaning = "Cancel send"


class OperationNotAllowed(SslError):
    """572: Operation not allowed."""

    code = 572
    meaning = "Operation not allowed"


class ApnNotConfigured(SslError):
    """573: APN not configured."""

    code = 573
    meaning = "APN not configured"


class PortBusy(SslError):
    """574: Port busy."""

    code = 574
    meaning = "Port busy"


SSL_ERRORS: dict[int, type[SslError]] = {
    cls.code: cls for cls in SslError.__subclasses__()  # type: ignore[misc]
}

# Common 3GPP 27.007 codes a bring-up meets (numeric +CME ERROR).
CME_MEANINGS: dict[int, str] = {
    0: "phone failure",
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    13: "SIM failure",
    14: "SIM busy",
    15: "SIM wrong",
    16: "incorrect password",
    30: "no network service",
    50: "incorrect parameters",
    100: "unknown",
    # Quectel FILE AT Commands Manual, summary of error codes.
    400: "invalid input value",
    401: "larger than the size of the file",
    402: "read zero byte",
    403: "drive full",
    405: "file not found",
    406: "invalid file name",
    407: "file already existed",
    409: "fail to write the file",
    410: "fail to open the file",
    411: "fail to read the file",
    413: "reach the max number of file allowed to be opened",
    414: "the file read-only",
    416: "invalid file descriptor",
    417: "fail to list the file",
    418: "fail to create the file",
    419: "fail to delete the file",
    420: "disk full",
    421: "time out",
    423: "the file is too large",
    425: "invalid parameter",
    426: "the file has been opened",
}


def error_for_code(code: int, command: str | None = None) -> CmeError:
    """The exception instance for a numeric error code (550-574 typed)."""
    cls = SSL_ERRORS.get(code)
    if cls is not None:
        return cls(command=command)
    return CmeError(code, CME_MEANINGS.get(code, "unknown error"), command=command)


def error_for_text(text: str, command: str | None = None) -> CmeError:
    """The exception for ``+CME ERROR: <text>`` (``AT+CMEE=2`` verbose form)."""
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= 12:
        return error_for_code(int(text), command)
    low = text.lower()
    for cls in SSL_ERRORS.values():
        if cls.meaning.lower() == low:
            return cls(command=command)
    for code, meaning in CME_MEANINGS.items():
        if meaning.lower() == low:
            return CmeError(code, meaning, command=command)
    return CmeError(None, text, command=command)


# Serial device errors


class DeviceError(ModemError):
    """The serial device could not be opened or used as a serial port.

    ``path`` names the device, ``detail`` holds the operating system's words.
    The message is one line that says what to do about it.
    """

    def __init__(self, path: str, detail: str = "") -> None:
        self.path = path
        self.detail = " ".join(detail.split())
        super().__init__(self._advice())

    def _advice(self) -> str:
        return f"cannot use {self.path} as a serial port: {self.detail or 'unknown error'}"


class DeviceNotFound(DeviceError):
    """The device path does not exist (unplugged, renamed, wrong number)."""

    def _advice(self) -> str:
        return (f"no such device {self.path}: check the cable, or list ports with "
                "`python -m serial.tools.list_ports`")


class DevicePermissionDenied(DeviceError):
    """The user may not open the device."""

    def _advice(self) -> str:
        return (f"permission denied on {self.path}: add your user to the dialout group "
                "(`sudo usermod -aG dialout $USER`, then log in again)")


class DeviceBusy(DeviceError):
    """Another process holds the port's exclusive lock."""

    def _advice(self) -> str:
        return (f"{self.path} is busy: another process holds the port (exclusive lock); "
                f"stop it first (`fuser -v {self.path}` shows which)")

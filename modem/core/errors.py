"""Exceptions raised by the modem layer, and how every error of the project is shown.

``ExplainedError`` is the base of every error the project raises on purpose
(``ModemError`` here, ``proxy.errors.ProxyError`` above): ``str()`` says what
failed, in one line; ``hint`` says what to do about it (or None);
``failure_key`` names it on the status page's counters.  ``render`` joins
what and hint into the one line a person reads (``what: hint``): the log
lines that report a failure, the AT console's ``ERROR:`` answer, the
doctor's check lines, the CLI's ``ssl-proxy: error:`` line.  No surface adds
a prefix of its own.  A message that names another error as its cause
embeds its ``str()`` (what failed), never its hint.

Quectel's SSL error codes (manual chapter 5, "Summary of Error Codes", codes
550-574) each get one class carrying ``code`` and the manual's ``meaning``.
``error_for_code`` maps a code, from ``+CME ERROR: <n>``, from the ``<err>``
of ``+QSSLOPEN: <id>,<err>`` or from ``AT+QIGETERROR``, to an instance of the
right class.  Each is also one of the middle classes callers ask about:

* ``RemoteRefused``: the far end refused or failed the open; every module
  would fail alike.  565 DNS parse failed, 566 socket connection failed
  (refused, handshake, certificate), 567 closed during the open.
* ``NetworkDown``: the module answers, but its data network does not carry.
  561 open PDP context failed, 569 operation timeout, 570 PDP context
  broke down, 573 APN not configured; ``OpenOutcomeLost`` too.
* ``ModuleBusy``: try again.  564 DNS busy, 568 operation busy, 574 port
  busy, 551 operation blocked; ``SendBufferFull``.
* ``ModuleNotReady`` (a ``ModuleLost``): the module is starting or recovering.
* ``LocalMistake``: the proxy asked for something the module does not do,
  or not in that state.  552 invalid parameter, 555 operation not
  supported, 563 socket identity used, 572 operation not allowed.
* ``ModuleFault``: the module failed at something it should do.  550
  unknown, 553 memory, 554 create socket, 556 bind, 557 listen, 558 write,
  559 read, 560 accept, 562 close PDP context, 571 cancel send.

The manual gives each code a name and nothing more, so every placement is a
reading of that name.  Firm (each is what its name says, and what the field
shows): 552-556, 561, 564-568, 570, 573, 574.  Guesses: 569 (a slow
remote looks the same as a slow network), 551 (a blocked operation is taken
as a busy one), 563 and 572 (the module's state disagreed with the proxy's),
558 and 559 (the manual does not say whether the module or the network
broke), 550 (nobody knows), and 557, 560, 562, 571 (operations the proxy
never asks for).

``map_exceptions`` is how a boundary turns a foreign family of exceptions
(Trio's, the operating system's) into these types: once, where the foreign
call is made, so callers above it only ever see ``ModemError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TypeVar

from modem.core.cme_meanings import CME_MEANINGS
from modem.core.module_state import ModuleState

LINE_LOSS_HINT = ("bytes are being lost on the serial line: use hardware flow control "
                  "(--rtscts) or the module's USB AT port")
"""The advice wherever a loss on the line shows (a hole, a damaged upload, a
final result out of step)."""

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


class ExplainedError(Exception):
    """An error that says what failed (``str()``) and what to do (``hint``).

    ``hint`` is the class's advice, or the instance's when given (``hint=``)
    or computed by a subclass; None when there is nothing to add.
    """

    hint: str | None = None

    def __init__(self, what: str = "", *, hint: str | None = None) -> None:
        super().__init__(what)
        if hint is not None:
            self.hint = hint

    @property
    def failure_key(self) -> str:
        """The status page's key for this failure: the class name."""
        return type(self).__name__


def render(exc: BaseException) -> str:
    """The one line that shows ``exc`` to a person: ``what failed: what to do``.

    Any exception: one that is not an ``ExplainedError`` has no hint, and an
    empty message gives way to the class name.
    """
    what = str(exc) or type(exc).__name__
    hint = exc.hint if isinstance(exc, ExplainedError) else None
    return f"{what}: {hint}" if hint else what


class ModemError(ExplainedError):
    """Base of every error the modem layer raises."""


class RemoteRefused(ModemError):
    """The far end refused or failed the open: not the module's fault, and
    another module would fail the same way."""


class NetworkDown(ModemError):
    """The module answers, but its data network does not carry the open."""


class ModuleBusy(ModemError):
    """The module is busy with something else; the same request may work soon."""

    hint = "the module is busy: try again"


class LocalMistake(ModemError):
    """The proxy asked for something the module does not do, or not in its state."""


class ModuleFault(ModemError):
    """The module failed at something it should be able to do."""


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
    """Refused at once: the module is starting or being recovered (lost,
    restarting, PDP down).

    ``state`` is the module's state, ``last_error`` the failure that started
    the recovery (or the latest reopen's, or why it has not started yet), if
    known.  Callers fail fast instead of waiting; new requests work again by
    themselves once the module is back.
    """

    hint = "try again when it is back"

    def __init__(self, state: ModuleState, last_error: BaseException | None = None) -> None:
        self.state = state
        self.last_error = last_error
        why = f" after: {last_error}" if last_error is not None else ""
        super().__init__(f"module is {state}{why}")


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


class SendBufferFull(ModuleBusy):
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

    hint = "use --access-mode buffer if this repeats"

    def __init__(self, client_id: int, limit: int) -> None:
        super().__init__(f"socket {client_id}: more than {limit} pushed bytes waited for a "
                         "slow reader")
        self.client_id = client_id
        self.limit = limit


class OpenOutcomeLost(NetworkDown):
    """An open answered ``OK`` but its ``+QSSLOPEN`` URC never came, and
    ``AT+QSSLSTATE`` shows it did not connect (nor ``AT+QIGETERROR`` why)."""

    hint = 'if no URC ever arrives, check AT+QURCCFG="urcport"'

    def __init__(self, command: str, state: str) -> None:
        super().__init__(f"{command}: failed without its +QSSLOPEN URC (AT+QSSLSTATE: {state})")
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

    @property
    def failure_key(self) -> str:
        """The code, so the status page counts failures by the manual's number."""
        return str(self.code) if self.code is not None else type(self).__name__


class FileTimeout(CmeError):
    """421 (FILE AT Commands Manual): a file command timed out, e.g. ``AT+QFUPL``
    waited longer than its ``<timeout>`` for the data."""

    code = 421
    meaning = "time out"


class SslError(CmeError):
    """One of the SSL/TCP/IP error codes 550-574 (manual chapter 5)."""


class UnknownError(SslError, ModuleFault):
    """550: Unknown error."""
    code, meaning = 550, "Unknown error"


class OperationBlocked(SslError, ModuleBusy):
    """551: Operation blocked."""
    code, meaning = 551, "Operation blocked"


class InvalidParameter(SslError, LocalMistake):
    """552: Invalid parameter."""
    code, meaning = 552, "Invalid parameter"


class MemoryNotEnough(SslError, ModuleFault):
    """553: Memory not enough."""
    code, meaning = 553, "Memory not enough"


class CreateSocketFailed(SslError, ModuleFault):
    """554: Create socket failed."""
    code, meaning = 554, "Create socket failed"


class OperationNotSupported(SslError, LocalMistake):
    """555: Operation not supported."""
    code, meaning = 555, "Operation not supported"


class SocketBindFailed(SslError, ModuleFault):
    """556: Socket bind failed."""
    code, meaning = 556, "Socket bind failed"


class SocketListenFailed(SslError, ModuleFault):
    """557: Socket listen failed."""
    code, meaning = 557, "Socket listen failed"


class SocketWriteFailed(SslError, ModuleFault):
    """558: Socket write failed."""
    code, meaning = 558, "Socket write failed"


class SocketReadFailed(SslError, ModuleFault):
    """559: Socket read failed."""
    code, meaning = 559, "Socket read failed"


class SocketAcceptFailed(SslError, ModuleFault):
    """560: Socket accept failed."""
    code, meaning = 560, "Socket accept failed"


class OpenPdpContextFailed(SslError, NetworkDown):
    """561: Open PDP context failed."""
    code, meaning = 561, "Open PDP context failed"
    hint = "check the PDP context (AT+QIACT?) and --apn"


class ClosePdpContextFailed(SslError, ModuleFault):
    """562: Close PDP context failed."""
    code, meaning = 562, "Close PDP context failed"


class SocketIdentityUsed(SslError, LocalMistake):
    """563: Socket identity has been used."""
    code, meaning = 563, "Socket identity has been used"


class DnsBusy(SslError, ModuleBusy):
    """564: DNS busy."""
    code, meaning = 564, "DNS busy"


class DnsParseFailed(SslError, RemoteRefused):
    """565: DNS parse failed."""
    code, meaning = 565, "DNS parse failed"
    hint = ("check the host name and the module's DNS servers (AT+QIDNSCFG); "
            "with --emulate give --resolve NAME=IP")


class SocketConnectionFailed(SslError, RemoteRefused):
    """566: Socket connection failed."""
    code, meaning = 566, "Socket connection failed"
    hint = ("check the remote port, the CA (--cacert), --tls-version/--ciphers, "
            "and the module clock (AT+CCLK?)")


class SocketClosed(SslError, RemoteRefused):
    """567: Socket has been closed."""
    code, meaning = 567, "Socket has been closed"
    hint = "the remote closed the connection during the open"


class OperationBusy(SslError, ModuleBusy):
    """568: Operation busy."""
    code, meaning = 568, "Operation busy"


class OperationTimeout(SslError, NetworkDown):
    """569: Operation timeout."""
    code, meaning = 569, "Operation timeout"
    hint = "the remote did not answer in time: check the address and the network"


class PdpContextBrokeDown(SslError, NetworkDown):
    """570: PDP context break down."""
    code, meaning = 570, "PDP context break down"
    hint = "the network dropped the PDP context; the proxy reactivates it"


class SendCancelled(SslError, ModuleFault):
    """571: Cancel send."""
    code, meaning = 571, "Cancel send"


class OperationNotAllowed(SslError, LocalMistake):
    """572: Operation not allowed."""
    code, meaning = 572, "Operation not allowed"


class ApnNotConfigured(SslError, NetworkDown):
    """573: APN not configured."""
    code, meaning = 573, "APN not configured"
    hint = "give --apn (the module has no APN configured)"


class PortBusy(SslError, ModuleBusy):
    """574: Port busy."""
    code, meaning = 574, "Port busy"


_Coded = TypeVar("_Coded", bound=CmeError)


def _by_code(classes: Iterable[type[_Coded]]) -> dict[int, type[_Coded]]:
    table: dict[int, type[_Coded]] = {}
    for cls in classes:
        if cls.code is None:
            raise TypeError(f"{cls.__name__} has no code")
        table[cls.code] = cls
    return table


SSL_ERRORS: dict[int, type[SslError]] = _by_code(SslError.__subclasses__())
_TYPED_CODES: dict[int, type[CmeError]] = {**SSL_ERRORS, **_by_code([FileTimeout])}


def error_for_code(code: int, command: str | None = None) -> CmeError:
    """The exception instance for a numeric error code (550-574 and 421 typed)."""
    cls = _TYPED_CODES.get(code)
    if cls is not None:
        return cls(command=command)
    return CmeError(code, CME_MEANINGS.get(code, "unknown error"), command=command)


def error_for_text(text: str, command: str | None = None) -> CmeError:
    """The exception for ``+CME ERROR: <text>`` (``AT+CMEE=2`` verbose form)."""
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= 12:
        return error_for_code(int(text), command)
    low = text.lower()
    for cls in _TYPED_CODES.values():
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
    Each subclass says what is wrong and computes its ``hint`` for the path.
    """

    def __init__(self, path: str, detail: str = "") -> None:
        self.path = path
        self.detail = " ".join(detail.split())
        what, hint = self._explain()
        super().__init__(what, hint=hint)

    def _explain(self) -> tuple[str, str | None]:
        """What is wrong, and what to do (None: nothing to add)."""
        return f"cannot use {self.path} as a serial port: {self.detail or 'unknown error'}", None


class DeviceNotFound(DeviceError):
    """The device path does not exist (unplugged, renamed, wrong number)."""

    def _explain(self) -> tuple[str, str | None]:
        return (f"no such device {self.path}",
                "check the cable, or list ports with `python -m serial.tools.list_ports`")


class DevicePermissionDenied(DeviceError):
    """The user may not open the device."""

    def _explain(self) -> tuple[str, str | None]:
        return (f"permission denied on {self.path}",
                "add your user to the dialout group "
                "(`sudo usermod -aG dialout $USER`, then log in again)")


class DeviceBusy(DeviceError):
    """Another process holds the port's exclusive lock."""

    def _explain(self) -> tuple[str, str | None]:
        return (f"{self.path} is busy",
                "another process holds the port (exclusive lock); "
                f"stop it first (`fuser -v {self.path}` shows which)")

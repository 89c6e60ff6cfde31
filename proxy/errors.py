"""The proxy's own errors: one base class, one line each for the user.

``ProxyError`` is the base of every error the proxy raises about its own
work (its flags and files, its listeners, finding the device, admission).
Like the modem layer's ``ModemError`` it is an ``ExplainedError``
(``modem.core.errors``): ``str()`` says what is wrong, ``hint`` what to do
when the message does not already say it, and ``render`` shows both.

This module imports nothing of the proxy, so every other module can use it.
"""

from __future__ import annotations

from modem.core.errors import DeviceError, ExplainedError


class ProxyError(ExplainedError):
    """Base of the proxy's own errors; ``render`` of each is one line for the user."""


class ConfigError(ProxyError):
    """A flag, a config file value or a named file is wrong (exit status 2)."""


class CertificateError(ConfigError):
    """A certificate or key file cannot be used (manual 1.4: PEM files only)."""


class ListenError(ProxyError):
    """A listener could not be bound."""


class PortNotFound(ProxyError):
    """No unique AT port was found; the message lists the candidates."""


class PortLost(DeviceError):
    """Discovery did not find the AT port again on a reopen (the module is
    re-enumerating or unplugged); the driver retries.  A ``DeviceError`` so
    the driver treats it as a missing device.  ``detail`` is what discovery
    found instead (``PortNotFound``'s message)."""

    def _explain(self) -> tuple[str, str | None]:
        return f"the module's AT port (last at {self.path}) is not there now: {self.detail}", None


class QueueTimeout(ProxyError):
    """No module socket became free in time; the message says which limit was full."""


class QueueFull(ProxyError):
    """Too many connections already wait for a module socket (``--queue-max``)."""


class RuntimeFailure(ProxyError):
    """The proxy could not start or keep running (exit status 1); ``str()`` is
    the failure's whole line (``render``), so the CLI prints it as it is."""

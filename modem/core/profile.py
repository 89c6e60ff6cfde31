"""TLS settings for one SSL context (manual 2.1.1, ``AT+QSSLCFG``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from modem.core.limits import ALL_CIPHER_SUITES

SSL_VERSIONS = {"3.0": 0, "1.0": 1, "1.1": 2, "1.2": 3, "all": 4}


@dataclass(frozen=True)
class TlsProfile:
    """What the module should do on the TLS side of a connection.

    ``cacert``, ``clientcert`` and ``clientkey`` are PEM bytes; the driver
    uploads them to the module's file system (``AT+QFUPL``) and names them
    in the SSL context.  ``clientkey`` is secret and never logged.
    ``check_host``: have the module check the server certificate's name
    against the host each open names, where the firmware offers such a
    setting (``commands.HOST_CHECK_SETTINGS``; the manual's has none, and
    ``Modem.name_checked`` tells whether it is on).  Only with ``seclevel`` 1
    or 2.
    """

    version: str = "1.2"
    ciphersuites: tuple[int, ...] = (ALL_CIPHER_SUITES,)
    seclevel: int = 1
    cacert: bytes | None = None
    clientcert: bytes | None = None
    clientkey: bytes | None = None
    sni: bool = True
    negotiate_timeout: int = 300
    ignore_local_time: bool = False
    check_host: bool = False

    def __post_init__(self) -> None:
        if self.version not in SSL_VERSIONS:
            raise ValueError(
                f"TLS version {self.version!r} is not one of {', '.join(SSL_VERSIONS)}")
        if self.seclevel not in (0, 1, 2):
            raise ValueError(f"seclevel must be 0, 1 or 2, not {self.seclevel}")
        if self.seclevel >= 1 and self.cacert is None:
            raise ValueError("seclevel 1 and 2 verify the server: a CA certificate is needed")
        if self.seclevel == 2 and (self.clientcert is None or self.clientkey is None):
            raise ValueError("seclevel 2 needs a client certificate and its key")
        if self.check_host and self.seclevel == 0:
            raise ValueError("check_host needs seclevel 1 or 2 (a verified server)")
        if not 10 <= self.negotiate_timeout <= 300:
            raise ValueError(
                f"negotiate timeout must be 10-300 s, not {self.negotiate_timeout}")

    @property
    def sslversion(self) -> int:
        return SSL_VERSIONS[self.version]

    def files(self) -> dict[str, bytes]:
        """The files this profile needs on the module: setting name -> content."""
        out = {}
        for setting in ("cacert", "clientcert", "clientkey"):
            content = getattr(self, setting)
            if content is not None:
                out[setting] = content
        return out

    def __repr__(self) -> str:  # never show key material
        parts = [f"version={self.version!r}", f"seclevel={self.seclevel}",
                 f"sni={self.sni}", f"negotiate_timeout={self.negotiate_timeout}",
                 f"check_host={self.check_host}"]
        for name, content in self.files().items():
            parts.append(f"{name}=<{len(content)} bytes>")
        return f"TlsProfile({', '.join(parts)})"


def module_file_name(content: bytes) -> str:
    """The module file name for ``content``: named by its hash, so that the same
    name on the module means the same bytes and a second upload can be skipped."""
    return f"UFS:sp-{hashlib.sha256(content).hexdigest()[:16]}.pem"

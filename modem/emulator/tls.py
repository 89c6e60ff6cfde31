"""TLS client settings of an SSL context (manual 2.1.1) as a Python ``ssl`` context.

What each ``AT+QSSLCFG`` setting becomes:

* ``sslversion`` 0 (SSL 3.0): OpenSSL has none, so every open fails (566).
  1/2/3 pin TLS 1.0/1.1/1.2; 4 allows TLS 1.0-1.2.  Never TLS 1.3: EC2x
  firmware does not speak it.
* ``ciphersuite``: the ClientHello offers exactly the manual's Table 2 suite
  (``0xFFFF``: all of Table 2 that OpenSSL still has).  A suite OpenSSL no
  longer has (RC4, 3DES, static ECDH) fails the open (566).  The cipher
  string carries ``@SECLEVEL=0``: the module is old and weak, it is the
  server's job to refuse.
* ``seclevel`` 0: no verification.  1: the server chain must verify against
  the context's ``cacert`` file.  2: also presents ``clientcert`` /
  ``clientkey`` when the server asks.  Host names are NOT checked: EC2x
  firmware of this manual has no such setting and does not check reliably.
* ``hostname_check`` 1 (only on firmware that has such a setting,
  ``EmulatorConfig.hostname_check``, e.g. BG9x ``"checkhost"``), with
  seclevel 1 or 2: the server certificate must name the host the open
  named (Python's ``check_hostname``; the name then also goes out as SNI).
* ``ignorelocaltime`` 1: certificate dates are not checked at all
  (``X509_V_FLAG_NO_CHECK_TIME``).  0: OpenSSL checks dates against the
  host clock and ``leaf_valid_at`` then checks the server's certificate
  against the *module* clock (manual 1.4).
* ``sni`` 1 sends the host name (not for IP literals); 0 sends none.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import tempfile
import warnings
from dataclasses import dataclass
from typing import Any

from .files import FileStore
from .manual import ALL_SUITES, CIPHER_SUITES

_VERSIONS = {
    1: (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1),
    2: (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1),
    3: (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2),
    4: (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_2),
}
_NO_CHECK_TIME = 0x200000  # OpenSSL X509_V_FLAG_NO_CHECK_TIME
_PeerCert = dict[str, Any]  # what SSLObject.getpeercert() returns


class TlsSetupError(Exception):
    """The context cannot make this connection (the open fails with 566)."""


@dataclass
class SslContextConfig:
    """One SSL context's ``AT+QSSLCFG`` settings, with firmware defaults."""

    sslversion: int = 4
    ciphersuite: int = ALL_SUITES
    seclevel: int = 0
    cacert: str = "UFS:cacert.pem"
    clientcert: str = ""
    clientkey: str = ""
    ignorelocaltime: int = 1
    negotiatetime: int = 300
    sni: int = 0
    hostname_check: int = 0  # only settable on firmware that has the setting


def client_context(cfg: SslContextConfig, files: FileStore) -> ssl.SSLContext:
    """The ``ssl.SSLContext`` for one open; raises ``TlsSetupError``."""
    if cfg.sslversion not in _VERSIONS:
        raise TlsSetupError("SSL 3.0 is not available")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # set below, once verify_mode allows it
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated; the module still has them
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version, ctx.maximum_version = _VERSIONS[cfg.sslversion]
    names = CIPHER_SUITES.values() if cfg.ciphersuite == ALL_SUITES else [
        CIPHER_SUITES[cfg.ciphersuite]
    ]
    try:
        ctx.set_ciphers(":".join(names) + ":@SECLEVEL=0")
    except ssl.SSLError as exc:
        raise TlsSetupError(f"cipher suite 0x{cfg.ciphersuite:04X} unavailable") from exc
    if cfg.seclevel == 0:
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ca = files.get(cfg.cacert)
        if ca is None:
            raise TlsSetupError(f"no CA file {cfg.cacert}")
        try:
            ctx.load_verify_locations(cadata=ca.decode("ascii", "replace"))
        except (ssl.SSLError, ValueError) as exc:
            raise TlsSetupError("CA file unusable") from exc
        if cfg.ignorelocaltime:
            ctx.verify_flags |= _NO_CHECK_TIME
        ctx.check_hostname = bool(cfg.hostname_check)
    if cfg.seclevel == 2:
        _load_client_identity(ctx, files.get(cfg.clientcert), files.get(cfg.clientkey))
    return ctx


def _load_client_identity(ctx: ssl.SSLContext, cert: bytes | None, key: bytes | None) -> None:
    """Present the client certificate; without files the server sees none."""
    if cert is None or key is None:
        return
    # ssl only loads identities from files: a private directory, removed at once.
    with tempfile.TemporaryDirectory(prefix="qssl-") as tmp:
        cert_path, key_path = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        for path, data in ((cert_path, cert), (key_path, key)):
            with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
                f.write(data)
        try:
            ctx.load_cert_chain(cert_path, key_path)
        except (ssl.SSLError, ValueError) as exc:
            raise TlsSetupError("client certificate or key unusable") from exc


def sni_name(cfg: SslContextConfig, host: str) -> str | None:
    """The SNI to send: the host name when ``sni`` is 1 and it is not an IP literal."""
    if not cfg.sni:
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host
    return None


def server_hostname(cfg: SslContextConfig, host: str) -> str | None:
    """What the open gives ``ssl`` as the server's name: the host when the
    name is checked (``ssl`` needs it), else the SNI (``sni_name``)."""
    if cfg.hostname_check and cfg.seclevel:
        return host
    return sni_name(cfg, host)


def leaf_valid_at(peer_cert: _PeerCert | None, when: dt.datetime) -> bool:
    """True when the verified peer certificate's validity covers ``when`` (manual 1.4).

    ``peer_cert`` is ``SSLObject.getpeercert()`` of a verified connection
    (only those carry the dates; ``ssl`` parses them, no extra dependency).
    """
    if not peer_cert or "notBefore" not in peer_cert or "notAfter" not in peer_cert:
        return False
    stamp = when.timestamp()
    not_before = ssl.cert_time_to_seconds(str(peer_cert["notBefore"]))
    not_after = ssl.cert_time_to_seconds(str(peer_cert["notAfter"]))
    return not_before <= stamp <= not_after


def validity_text(peer_cert: _PeerCert | None) -> str:
    """``<notBefore> to <notAfter>`` of a verified peer certificate, for the log."""
    if not peer_cert:
        return "unknown"
    return f"{peer_cert.get('notBefore', '?')} to {peer_cert.get('notAfter', '?')}"

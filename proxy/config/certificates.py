"""Reading and checking the PEM files the module will get (manual 1.4, 2.1.1).

Everything is checked on the host before the service starts, so a wrong
file is one clear line (``CertificateError``) naming it instead of a ``+QSSLOPEN: <id>,566`` much
later: CA files must hold at least one PEM certificate, a client
certificate must parse, its key must be an unencrypted PEM private key
that matches it (``ssl.SSLContext.load_cert_chain`` decides).  Messages
name the file, never its content.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from proxy.errors import CertificateError

FALLBACK_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

_CERT_BLOCK = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s+.*?-----END CERTIFICATE-----", re.DOTALL)


_BEGIN_CERT = b"-----BEGIN CERTIFICATE-----"
_KEY_BEGIN = re.compile(rb"-----BEGIN ([A-Z ]*)PRIVATE KEY-----")


def _cert_blocks(data: bytes, flag: str, path: Path) -> list[bytes]:
    """The whole PEM certificate blocks of ``data``; a BEGIN without its END
    (a file cut short when copied) is an error, not a certificate less."""
    blocks: list[bytes] = _CERT_BLOCK.findall(data)
    if data.count(_BEGIN_CERT) > len(blocks):
        raise CertificateError(
            f"{flag} {path}: is truncated: a -----BEGIN CERTIFICATE----- has no "
            "-----END CERTIFICATE-----; copy the whole file again")
    if not blocks:
        raise CertificateError(f"{flag} {path}: holds no PEM certificate "
                               "(expected -----BEGIN CERTIFICATE-----)")
    return blocks


class _EncryptedKey(Exception):
    pass


@dataclass(frozen=True)
class TlsMaterial:
    """The bytes of one map's files (``clientkey`` is secret: not in ``repr``)."""

    cacert: bytes | None
    clientcert: bytes | None = None
    clientkey: bytes | None = field(default=None, repr=False)


def host_ca_bundle() -> Path:
    """The system's CA bundle: what OpenSSL uses by default, else Debian's path."""
    cafile = ssl.get_default_verify_paths().cafile
    if cafile and Path(cafile).is_file():
        return Path(cafile)
    if FALLBACK_CA_BUNDLE.is_file():
        return FALLBACK_CA_BUNDLE
    raise CertificateError("found no CA bundle on this host (tried the OpenSSL default and "
                      f"{FALLBACK_CA_BUNDLE}); give --cacert FILE")


def _read(path: Path, flag: str) -> bytes:
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise CertificateError(f"{flag} {path}: is a directory; give a PEM file") from None
    except OSError as exc:
        raise CertificateError(f"{flag} {path}: cannot read it ({exc.strerror})") from None


def read_ca_file(path: Path, flag: str = "--cacert") -> bytes:
    """A file of one or more PEM certificates, checked by loading it into an SSLContext."""
    data = _read(path, flag)
    blocks = _cert_blocks(data, flag, path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        ctx.load_verify_locations(cadata=b"\n".join(blocks).decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError):
        raise CertificateError(f"{flag} {path}: a certificate in it does not parse") from None
    return data


def read_client_pair(cert: Path, key: Path) -> tuple[bytes, bytes]:
    """The client certificate and its key, checked to parse and to match."""
    cert_data = _read(cert, "--clientcert")
    key_data = _read(key, "--clientkey")
    blocks = _cert_blocks(cert_data, "--clientcert", cert)
    try:
        ssl.PEM_cert_to_DER_cert(blocks[0].decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        raise CertificateError(f"--clientcert {cert}: the certificate does not parse") from None
    if b"PRIVATE KEY-----" not in key_data:
        raise CertificateError(f"--clientkey {key}: holds no PEM private key "
                          "(expected -----BEGIN ... PRIVATE KEY-----)")
    begin = _KEY_BEGIN.search(key_data)
    if begin is not None and b"-----END " + begin.group(1) + b"PRIVATE KEY-----" not in key_data:
        raise CertificateError(f"--clientkey {key}: is truncated: its -----BEGIN ... PRIVATE "
                               "KEY----- has no END line; copy the whole file again")
    if b"ENCRYPTED" in key_data:
        raise CertificateError(f"--clientkey {key}: the key is encrypted; the module needs it "
                          "without a passphrase (openssl pkey -in KEY -out PLAIN)")

    def no_password() -> str:
        raise _EncryptedKey

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        ctx.load_cert_chain(cert, key, password=no_password)
    except _EncryptedKey:
        raise CertificateError(f"--clientkey {key}: the key is encrypted; the module needs it "
                          "without a passphrase (openssl pkey -in KEY -out PLAIN)") from None
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc):
            raise CertificateError(f"--clientkey {key}: does not belong to --clientcert {cert}"
                              ) from None
        raise CertificateError(f"--clientkey {key}: the key does not parse") from None
    return cert_data, key_data

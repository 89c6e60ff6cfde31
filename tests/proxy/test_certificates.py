"""PEM checks before start-up, and the TlsProfile each map gets."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from proxy.cli import parse_command_line
from proxy.config.build import ConfigError
from proxy.config.certificates import host_ca_bundle, read_ca_file, read_client_pair
from proxy.config.profiles import build_profiles, load_all_material


@pytest.fixture
def files(tmp_path: Path, ca: trustme.CA) -> dict[str, Path]:
    client = ca.issue_cert("client@example")
    other = ca.issue_cert("other@example")
    out = {
        "ca": tmp_path / "ca.pem",
        "cert": tmp_path / "client.pem",
        "key": tmp_path / "client.key",
        "other_key": tmp_path / "other.key",
        "enc_key": tmp_path / "enc.key",
        "junk": tmp_path / "junk.pem",
        "cut_ca": tmp_path / "cut-ca.pem",
        "cut_bundle": tmp_path / "cut-bundle.pem",
        "cut_key": tmp_path / "cut.key",
    }
    ca.cert_pem.write_to_path(out["ca"])
    client.cert_chain_pems[0].write_to_path(out["cert"])
    client.private_key_pem.write_to_path(out["key"])
    other.private_key_pem.write_to_path(out["other_key"])
    key = serialization.load_pem_private_key(client.private_key_pem.bytes(), None)
    out["enc_key"].write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase")))
    out["junk"].write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n"
                           "-----END CERTIFICATE-----\n")
    pem = ca.cert_pem.bytes()
    out["cut_ca"].write_bytes(pem[: len(pem) // 2])  # copied half way
    out["cut_bundle"].write_bytes(pem + other.cert_chain_pems[0].bytes()[:200])
    out["cut_key"].write_bytes(client.private_key_pem.bytes()[:100])
    return out


def test_good_files(files):
    assert read_ca_file(files["ca"]).startswith(b"-----BEGIN CERTIFICATE-----")
    cert, key = read_client_pair(files["cert"], files["key"])
    assert b"CERTIFICATE" in cert and b"PRIVATE KEY" in key


def test_host_bundle_parses():
    assert read_ca_file(host_ca_bundle(), "host CA bundle").count(b"BEGIN CERTIFICATE") > 10


@pytest.mark.parametrize(("make", "words"), [
    (lambda f: read_ca_file(f["key"]), "holds no PEM certificate"),
    (lambda f: read_ca_file(f["junk"]), "a certificate in it does not parse"),
    (lambda f: read_ca_file(f["cut_ca"]), "is truncated: a -----BEGIN CERTIFICATE----- has"),
    (lambda f: read_ca_file(f["cut_bundle"]), "is truncated"),
    (lambda f: read_client_pair(f["cut_ca"], f["key"]), "--clientcert"),
    (lambda f: read_client_pair(f["cert"], f["cut_key"]), "is truncated: its -----BEGIN"),
    (lambda f: read_ca_file(f["ca"].with_name("missing.pem")), "cannot read it"),
    (lambda f: read_ca_file(f["ca"].parent), "is a directory"),
    (lambda f: read_client_pair(f["key"], f["key"]), "--clientcert"),
    (lambda f: read_client_pair(f["cert"], f["ca"]), "holds no PEM private key"),
    (lambda f: read_client_pair(f["cert"], f["other_key"]), "does not belong to --clientcert"),
    (lambda f: read_client_pair(f["cert"], f["enc_key"]), "the key is encrypted"),
])
def test_bad_files_name_the_file(files, make, words):
    with pytest.raises(ConfigError) as info:
        make(files)
    message = str(info.value)
    assert words in message
    assert str(files["ca"].parent) in message
    assert "\n" not in message
    for path in files.values():  # no file content, key material least of all
        if path.is_file():
            for line in path.read_text().splitlines():
                assert line.startswith("-----") or line not in message


def test_profiles(files):
    config = parse_command_line([
        "--map", "9000=api.example.com:443", "--map", "9001=10.0.0.1:443",
        "--cacert", str(files["ca"])])
    profiles = build_profiles(config, load_all_material(config))
    by_host = {m.remote.host: p for m, p in profiles.items()}
    named, literal = by_host["api.example.com"], by_host["10.0.0.1"]
    assert named.seclevel == literal.seclevel == 1
    assert named.cacert == files["ca"].read_bytes()
    assert (named.sni, literal.sni) == (True, False)
    assert named.version == "1.2"


def test_client_cert_means_seclevel_2_and_insecure_0(files):
    config = parse_command_line([
        "--map", "9000=a.example:443", "--cacert", str(files["ca"]),
        "--clientcert", str(files["cert"]), "--clientkey", str(files["key"])])
    (profile,) = build_profiles(config, load_all_material(config)).values()
    assert profile.seclevel == 2
    assert profile.clientkey == files["key"].read_bytes()
    assert b"PRIVATE" not in repr(profile).encode()
    config = parse_command_line(["--map", "9000=a.example:443", "--insecure"])
    (profile,) = build_profiles(config, load_all_material(config)).values()
    assert profile.seclevel == 0 and profile.cacert is None


def test_default_ca_is_the_host_bundle():
    config = parse_command_line(["--map", "9000=a.example:443"])
    (profile,) = build_profiles(config, load_all_material(config)).values()
    assert profile.cacert == host_ca_bundle().read_bytes()

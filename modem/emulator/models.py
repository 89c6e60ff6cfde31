"""Module families the emulator can play (``EmulatorConfig.model``), as data.

Each preset is what the emulator shows of one family where public evidence
says it differs from the EC2x manual's firmware; everything else is the
EC2x behaviour.  docs/modules.md has the table with its sources, and which
differences are not played (the driver could not handle them yet).  Values
marked *guess* below have no public source.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MODELS", "ModelPreset"]


@dataclass(frozen=True)
class ModelPreset:
    """``ATI``'s lines, the boot line, and the firmware's extras.

    ``qsslcfg_test``: the ``AT+QSSLCFG=?`` lines when they differ from the
    manual's nine; ``hostname_check``: the server name check setting it
    offers; ``absent_commands``: commands it answers ``ERROR`` to.
    """

    manufacturer: str
    model: str
    revision: str
    boot_line: bytes = b"RDY"
    qsslcfg_test: tuple[str, ...] | None = None
    hostname_check: str | None = None
    absent_commands: frozenset[str] = frozenset()


_CTX = "(0-5)"

#: An EG25-G's own answer (github.com/lukejenkins/cwd, documentation/quectel_ec2x_and_eg2x/
#: outputs.md, commit 0c34f27, firmware EG25GGBR07A08M2G_A0.301.A0.301).
_EG25G_QSSLCFG = tuple(f'+QSSLCFG: "{name}",{_CTX},{values}' for name, values in (
    ("sslversion", "(0-4)"), ("dtls", "(0,1)"), ("dtlsversion", "(0,1)"),
    ("ciphersuite", "(0X0035,0X002F,0X0005,0X000A,0X003D,0XC003,0XC004,0XC005,0XC008,"
                    "0XC009,0XC00A,0XC012,0XC013,0XC014,0XC00D,0XC00E,0XC00F,0XC023,0XC024,"
                    "0XC025,0XC026,0XC027,0XC028,0XC029,0XC02A,0XC02F,0XC030,0XFFFF)"),
    ("cacert", "<cacertpath>"), ("cacertex", "<cacertexpath>"),
    ("clientcert", "<client_cert_path>"), ("clientkey", "<client_key_path>,<key_pwd>"),
    ("seclevel", "(0-2)"), ("ignorelocaltime", "(0,1)"), ("negotiatetime", "(10-300)"),
    ("sni", "(0,1)"), ("psk", "<identity>,<key>"), ("closetimemode", "(0,1)"),
    ("session_cache", "(0,1)"), ("alpn", "<protocolname>"), ("renegotiation", "(0,1)"),
    ("ignoreprivkey", "(0,1)"), ("ignoremulticertchainverify", "(0,1)"),
    ("ignoreinvalidcertsign", "(0,1)"), ("ignorecertitem", "(0-1048575)")))

MODELS: dict[str, ModelPreset] = {
    # The manual's firmware: what the emulator always played.
    "ec25": ModelPreset("Quectel", "EC25", "EC25EFAR06A06M4G"),
    # ATI names it "EG25", not "EG25-G" (the same capture).
    "eg25-g": ModelPreset("Quectel", "EG25", "EG25GGBR07A08M2G",
                          qsslcfg_test=_EG25G_QSSLCFG),
    # BG9x print "APP RDY" when booted (github.com/jcmendez/quectel-bg9x-atat,
    # src/commands/urc.rs; Moran296/bg9x_ssl_zephyr waits for it); the revision
    # string is a guess in Quectel's pattern.
    "bg96": ModelPreset("Quectel", "BG96", "BG96MAR02A07M1G", boot_line=b"APP RDY"),
    # "checkhost": Moran296/bg9x_ssl_zephyr and jcmendez/quectel-bg9x-atat (BG95).
    "bg95": ModelPreset("Quectel", "BG95-M3", "BG95M3LAR02A03", boot_line=b"APP RDY",
                        hostname_check="checkhost"),
    # Unisoc Cat 1: only the command set is known to be the same (QSSLOPEN/SEND/RECV:
    # github.com/MISTERNEGATIVE21/QuectelEC200U); the revision is a guess.
    "ec200u": ModelPreset("Quectel", "EC200U", "EC200UCNAAR02A06M08"),
    # ASR Cat 1 bis: everything but the name is a guess.
    "eg800k": ModelPreset("Quectel", "EG800K", "EG800KEULCR07A07M04"),
}

"""Typed builders and parsers for the AT commands the proxy uses (sans-I/O).

Every builder returns a ``Command`` (``modem.core.at_command``) whose text,
framing and timeout follow the module's manuals; every parser takes one whole
information line (``+QIACT: 1,1,1,"10.7.157.1"``) and returns a small frozen
value, or raises ``ValueError`` naming the line it could not read.  Nothing
here does I/O or imports Trio or pyserial.

Sources:

* SSL commands: Quectel EC2x&EG9x&EM05 SSL AT Commands Manual (chapter and
  section numbers below refer to it, e.g. "manual 2.1.2" is AT+QSSLOPEN);
* ``AT+QICSGP``, ``AT+QIACT``, ``AT+QIDEACT``, ``AT+QIGETERROR``,
  ``AT+QIDNSCFG``, ``AT+QISWTMD``: Quectel's TCP(IP) AT Commands Manual;
* ``AT+QFUPL``, ``AT+QFLST``, ``AT+QFDEL``: Quectel's FILE AT Commands Manual;
* ``ATE``, ``ATI``, ``AT+CMEE``, ``AT+CFUN``, ``AT+CPIN``, ``AT+CREG``,
  ``AT+CEREG``, ``AT+CSQ``, ``AT+CCLK``: 3GPP TS 27.007 as Quectel documents
  it; ``AT+QLTS``, ``AT+QURCCFG``: Quectel's AT Commands Manual.

Rules the builders enforce before anything reaches the wire:

* every number is range-checked (the module's own limits come from
  ``modem.core.limits``); the ``ValueError`` names the parameter, the value and
  the allowed range;
* strings are written in double quotes and may hold printable ASCII only
  (0x20-0x7E) without ``"``: AT has no escape for a quote, and CR or LF would
  end the command line;
* hex values (cipher suites) are written unquoted as ``0x`` plus four
  upper-case hex digits (``0xC02F``): firmware rejects a quoted hex value.
  The manual's own example writes ``0X0035``; the module reads both.

Timeouts: ``QUICK_TIMEOUT`` (1 s) where a manual gives a maximum response
time of 300 ms, ``DEFAULT_TIMEOUT`` (5 s) where it gives none; the long
ones are the manual's (``AT+QIACT`` 150 s, ``AT+QIDEACT`` 40 s, ``AT+CFUN``
15 s, ``AT+QSSLOPEN`` 150 s + negotiate time, ``AT+QSSLCLOSE``
close_timeout + 5 s).

The package is split the way the emulator splits its handlers: the field
syntax (``_fields``), general 27.007 commands and the clock (``_general``),
PDP contexts (``_pdp``), the SIM's PIN (``_sim``), files (``_files``) and SSL
(``_ssl``, and ``_ssl_features``: what ``AT+QSSLCFG=?`` offers beyond the
manual).  Import the names from ``modem.core.commands``; the private modules
may move.
"""

from __future__ import annotations

from modem.core.commands._fields import (
    DEFAULT_TIMEOUT,
    QUICK_TIMEOUT,
    quote,
    split_fields,
)
from modem.core.commands._files import (
    DEFAULT_LINE_BAUD,
    FileEntry,
    UploadResult,
    parse_qflst,
    parse_qfupl,
    qfdel,
    qflst,
    qfupl,
    qfupl_checksum,
    upload_wait,
)
from modem.core.commands._general import (
    CMUX_PORT_SPEEDS,
    URC_PORTS,
    ModuleIdentity,
    Registration,
    SignalQuality,
    UrcPort,
    at,
    ati,
    cclk_query,
    cclk_set,
    cereg_query,
    cfun,
    cmee,
    cmux,
    cmux_test,
    cpin_query,
    creg_query,
    csq,
    ctzu,
    ctzu_query,
    echo,
    parse_ati,
    parse_cclk,
    parse_cmux_n1,
    parse_cmux_test,
    parse_cpin,
    parse_csq,
    parse_ctzu,
    parse_qlts,
    parse_qurccfg_urcport,
    parse_registration,
    qlts,
    qurccfg_urcport,
    qurccfg_urcport_query,
    test_form,
)
from modem.core.commands._pdp import (
    DnsConfig,
    PdpContextConfig,
    PdpContextState,
    parse_qiact,
    parse_qicsgp,
    parse_qidnscfg,
    parse_qigeterror,
    qiact,
    qiact_query,
    qicsgp,
    qicsgp_query,
    qideact,
    qidnscfg,
    qigeterror,
)
from modem.core.commands._sim import (
    SIM_PIN_FACILITY,
    PinCounters,
    check_pin,
    cpin_enter,
    parse_qpinc,
    qpinc,
)
from modem.core.commands._ssl import (
    CIPHER_LIST_SEPARATOR,
    SocketState,
    SslConfigValue,
    SslSetting,
    SslSocketState,
    ato,
    ctrlz_payload,
    parse_qsslcfg,
    parse_qsslstate,
    qiswtmd,
    qsslcfg_cacert,
    qsslcfg_ciphersuite,
    qsslcfg_clientcert,
    qsslcfg_clientkey,
    qsslcfg_ignorelocaltime,
    qsslcfg_negotiatetime,
    qsslcfg_query,
    qsslcfg_seclevel,
    qsslcfg_set,
    qsslcfg_sni,
    qsslcfg_sslversion,
    qsslcfg_test,
    qsslclose,
    qsslopen,
    qsslrecv,
    qsslsend,
    qsslsend_ctrlz,
    qsslstate,
)
from modem.core.commands._ssl_features import (
    HOST_CHECK_SETTINGS,
    host_check_setting,
    parse_qsslcfg_test,
    qsslcfg_host_check,
)
from modem.core.limits import CIPHER_SUITES, MAX_RECV, MAX_SEND

__all__ = [
    "CMUX_PORT_SPEEDS",
    "CIPHER_LIST_SEPARATOR",
    "CIPHER_SUITES",
    "DEFAULT_LINE_BAUD",
    "DEFAULT_TIMEOUT",
    "HOST_CHECK_SETTINGS",
    "MAX_RECV",
    "MAX_SEND",
    "QUICK_TIMEOUT",
    "SIM_PIN_FACILITY",
    "URC_PORTS",
    "DnsConfig",
    "FileEntry",
    "ModuleIdentity",
    "PdpContextConfig",
    "PdpContextState",
    "PinCounters",
    "Registration",
    "SignalQuality",
    "SslConfigValue",
    "SslSetting",
    "SocketState",
    "SslSocketState",
    "UploadResult",
    "UrcPort",
    "at",
    "ato",
    "cclk_query",
    "ctzu",
    "ctzu_query",
    "cclk_set",
    "cereg_query",
    "cfun",
    "cmee",
    "cmux",
    "cmux_test",
    "check_pin",
    "cpin_enter",
    "cpin_query",
    "creg_query",
    "csq",
    "ctrlz_payload",
    "echo",
    "ati",
    "parse_ati",
    "parse_cclk",
    "parse_cmux_n1",
    "parse_cmux_test",
    "parse_cpin",
    "parse_ctzu",
    "parse_csq",
    "parse_qflst",
    "parse_qfupl",
    "parse_qiact",
    "parse_qicsgp",
    "parse_qidnscfg",
    "parse_qigeterror",
    "parse_qlts",
    "parse_qpinc",
    "parse_qsslcfg",
    "parse_qsslcfg_test",
    "host_check_setting",
    "parse_qsslstate",
    "parse_qurccfg_urcport",
    "parse_registration",
    "qfdel",
    "qflst",
    "qfupl",
    "qfupl_checksum",
    "upload_wait",
    "qiact",
    "qiact_query",
    "qicsgp",
    "qicsgp_query",
    "qideact",
    "qidnscfg",
    "qigeterror",
    "qiswtmd",
    "qlts",
    "qpinc",
    "qsslcfg_cacert",
    "qsslcfg_host_check",
    "qsslcfg_ciphersuite",
    "qsslcfg_clientcert",
    "qsslcfg_clientkey",
    "qsslcfg_ignorelocaltime",
    "qsslcfg_negotiatetime",
    "qsslcfg_query",
    "qsslcfg_seclevel",
    "qsslcfg_set",
    "qsslcfg_sni",
    "qsslcfg_sslversion",
    "qsslcfg_test",
    "qsslclose",
    "qsslopen",
    "qsslrecv",
    "qsslsend",
    "qsslsend_ctrlz",
    "qsslstate",
    "qurccfg_urcport",
    "qurccfg_urcport_query",
    "quote",
    "split_fields",
    "test_form",
]

"""What ``AT+QSSLCFG=?`` says this firmware offers, and the server host-name check
some firmware has beyond manual 2.1.1 (sans-I/O).

The EC2x&EG9x&EM05 SSL manual's test answer lists nine settings, one line
each: ``+QSSLCFG: "sslversion",(0-5),(0-4)`` ... ``+QSSLCFG: "sni",(0-5),(0,1)``.
None of them checks the server certificate's name against the host.  Other
Quectel firmware lists more, and some has exactly that check:

* ``"checkhost"`` -- ``AT+QSSLCFG="checkhost",<ctx>,1``: BG95/BG9x firmware,
  used by the Zephyr BG9x SSL offload driver (github.com/Moran296/bg9x_ssl_zephyr,
  ``bg9x_ssl.c``: "Configure hostname validation"), the Rust BG9x driver
  (github.com/jcmendez/quectel-bg9x-atat, "Hostname validation toggle
  (AT+QSSLCFG="checkhost")"), and QuecOpen SDK code (``QL_SSLCFG_CHECKHOST``);
  an MCU project comments it "Enable hostname validation feature (Subject
  CommonName(CN) matches the specified host name)".  Its value is 0 or 1 and
  it checks the host the open names (``AT+QSSLOPEN``'s ``<serveraddr>``).

No public log shows an EC2x/EG9x/EM05 listing it; where the test answer
does not name a setting of ``HOST_CHECK_SETTINGS``, the proxy warns instead.
The parser is tolerant: any case, straight or typographic quotes or none,
extra spaces, lines that are not ``+QSSLCFG:`` lines (skipped).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from modem.core.at_command import Command
from modem.core.commands._fields import DEFAULT_TIMEOUT, check_flag
from modem.core.commands._ssl import _ssl_ctx

#: Settings known to make the module check the server's name (see above).
HOST_CHECK_SETTINGS: tuple[str, ...] = ("checkhost",)

_TEST_LINE = re.compile(
    r"""^\s*\+QSSLCFG\s*:\s*["'\u201c\u201d]?\s*([A-Za-z][A-Za-z0-9_/-]*)""", re.IGNORECASE)
_SETTING_NAME = re.compile(r"^[a-z][a-z0-9_/-]*$")


def parse_qsslcfg_test(lines: Iterable[str]) -> tuple[str, ...]:
    """The setting names an ``AT+QSSLCFG=?`` answer lists, lower case, in order,
    each once; lines that name none are skipped."""
    names: dict[str, None] = {}
    for line in lines:
        match = _TEST_LINE.match(line)
        if match:
            names[match.group(1).lower()] = None
    return tuple(names)


def host_check_setting(offered: Iterable[str]) -> str | None:
    """The host-name check among the ``offered`` settings, or None."""
    offered = set(offered)
    return next((name for name in HOST_CHECK_SETTINGS if name in offered), None)


def qsslcfg_host_check(ctx: int, setting: str, on: bool) -> Command:
    """``AT+QSSLCFG="<setting>",<ctx>,<0|1>``: the server host-name check on or off."""
    if not _SETTING_NAME.match(setting):
        raise ValueError(f"host check setting must be a lower-case name, got {setting!r}")
    return Command(f'AT+QSSLCFG="{setting}",{_ssl_ctx(ctx)},{check_flag(setting, on)}',
                   timeout=DEFAULT_TIMEOUT)

"""The best TLS goodput PPP could give on the same UART: the bound we compare with.

The alternative to ssl-proxy is a PPP data call on the module's UART
(``ATD*99#``) with TLS on the host.  On a line of ``baud`` (8N1: ``baud / 10``
bytes per second each way) a bulk TLS stream over TCP/IP over PPP/HDLC
(RFC 1662) carries at most:

* one way: ``payload / frame`` of the line, where per TCP segment
  ``payload`` = TCP payload x 16384 / (16384 + TLS record overhead) and
  ``frame`` = the PPP frame of the 1500-byte IP packet on the wire;
* both ways at once (separate connections, as ``duplex`` and ``mixed``):
  each direction also carries the pure ACKs of the other's data, one per
  ``segments_per_ack`` segments, so ``payload / (frame + ack_frame / 2)``.

A frame on the wire is ``(packet + escapable) x (1 + escaped / 256) + flags``:
the HDLC bytes inside the flags (address/control, protocol, FCS) and the
packet are byte-stuffed; a random (encrypted) byte needs an escape with
probability ``escaped / 256``.  Headers are not random, but they are a few
percent of the bytes.

``LINUX_PPPD`` is what a Linux host with ``pppd`` and the kernel's
``ppp_async`` gets from a Quectel module, as far as public logs show:

* ACCM 0 both ways, so only 0x7E and 0x7D are escaped (2/256, 0.8 %): pppd
  requests ``asyncmap 0`` by default and an EC20 requests ``asyncmap 0`` in
  its own LCP Configure-Request (forums.quectel.com thread 26047;
  zephyrproject-rtos/zephyr#105292 shows pppd's default request).  The RFC's
  default map (all 32 control characters escaped, 34/256 = 13 %) applies
  only when ACCM is not negotiated (``ACCM_ALL``);
* address/control and protocol field compression (ACFC, PFC): both sides
  ask for them in the same logs, so an IP frame carries a 1-byte protocol
  field and the 2-byte FCS and no ``FF 03``; whether the module *sends*
  compressed frames is a guess (it accepts them);
* one flag per frame: ``ppp_async`` writes the opening flag only after a
  second of quiet, so back-to-back frames share it;
* no Van Jacobson header compression: Quectel's own ``quectel-ppp`` peer
  file sets ``novj`` (and ``noccp``: no PPP compression, which would not
  shrink TLS anyway);
* MTU 1500 (pppd's default MRU; the peer file sets none), TCP timestamps on
  (Linux's ``tcp_timestamps=1``): 20 + 20 + 12 header bytes and 1448 bytes
  of payload per segment; a delayed ACK every second segment;
* TLS 1.2 with AES-GCM in 16 KiB records: 5 header + 8 explicit nonce + 16
  tag = 29 bytes per record (TLS 1.3 has 22; 0.04 % of the line).

It is a bound, not a forecast: no handshake, no slow start, no idle line,
no loss.  Pure arithmetic; ``tests/unit/test_ppp_bound.py`` checks it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

BITS_PER_BYTE = 10  # 8N1: start bit, 8 data bits, stop bit


@dataclass(frozen=True)
class PppLink:
    """What PPP, IP, TCP and TLS put around each byte; see the module docstring."""

    mtu: int = 1500
    ip_tcp_header: int = 52  # IPv4 20 + TCP 20 + timestamps option 12
    hdlc_escapable: int = 3  # PFC protocol 1 + FCS 2 (no FF 03: ACFC)
    hdlc_flags: int = 1  # back-to-back frames share the flag
    escaped: int = 2  # of 256 byte values: 0x7E, 0x7D (ACCM 0)
    tls_record: int = 16384
    tls_overhead: int = 29  # TLS 1.2 AES-GCM: 5 header + 8 nonce + 16 tag
    segments_per_ack: int = 2

    def wire(self, packet: int) -> float:
        """Line bytes of one PPP frame carrying an IP packet of ``packet`` bytes."""
        return (packet + self.hdlc_escapable) * (1 + self.escaped / 256) + self.hdlc_flags

    @property
    def payload(self) -> float:
        """TLS plaintext bytes per full TCP segment."""
        segment = self.mtu - self.ip_tcp_header
        return segment * self.tls_record / (self.tls_record + self.tls_overhead)

    @property
    def one_way_share(self) -> float:
        """Goodput over the line rate, data one way (the ACKs use the other way)."""
        return self.payload / self.wire(self.mtu)

    @property
    def each_way_share(self) -> float:
        """Goodput over the line rate in each direction while both carry data."""
        ack = self.wire(self.ip_tcp_header) / self.segments_per_ack
        return self.payload / (self.wire(self.mtu) + ack)


LINUX_PPPD = PppLink()
#: Other links, for comparison (``python -m tests.benchmarks.ppp_bound``).
VARIANTS = {
    "Linux pppd, Quectel module (the bound reported)": LINUX_PPPD,
    "a server without TCP timestamps (40 header bytes)": replace(LINUX_PPPD, ip_tcp_header=40),
    "no ACFC/PFC, two flags per frame (8 HDLC bytes)":
        replace(LINUX_PPPD, hdlc_escapable=6, hdlc_flags=2),
    "ACCM not negotiated (all 32 control characters escaped)": replace(LINUX_PPPD, escaped=34),
}


@dataclass(frozen=True)
class PppBound:
    """The bound on one line, in bytes per second of TLS payload."""

    baud: int
    one_way: float
    each_way: float

    @property
    def line_rate(self) -> float:
        return self.baud / BITS_PER_BYTE


def ppp_bound(baud: int, link: PppLink = LINUX_PPPD) -> PppBound:
    """The best goodput of TLS over PPP on a UART of ``baud`` (8N1), one way and
    each way at once."""
    rate = baud / BITS_PER_BYTE
    return PppBound(baud, rate * link.one_way_share, rate * link.each_way_share)


ONE_WAY_SCENARIOS = frozenset({"download", "upload", "download12"})
BOTH_WAYS_SCENARIOS = frozenset({"duplex", "mixed"})


def bound_fields(scenario: str, baud: int, proxy_goodput: float) -> dict[str, Any]:
    """A record's PPP fields, in the units of its ``proxy_goodput``/``proxy_share``.

    ``ppp_goodput`` and ``ppp_share``: the bound (both directions added for
    ``duplex`` and ``mixed``, like their goodput); ``ppp_ratio``: proxy over
    the bound.  Empty for the unpaced line (no UART) and for request/response
    (bound by round trips, not by bytes on the line).
    """
    if not baud or scenario not in ONE_WAY_SCENARIOS | BOTH_WAYS_SCENARIOS:
        return {}
    bound = ppp_bound(baud)
    goodput = bound.one_way if scenario in ONE_WAY_SCENARIOS else 2 * bound.each_way
    fields = {"ppp_goodput": round(goodput, 1),
              "ppp_share": round(goodput / bound.line_rate, 4),
              "ppp_ratio": round(proxy_goodput / goodput, 4)}
    if scenario in BOTH_WAYS_SCENARIOS:
        fields["ppp_each_way_share"] = round(bound.each_way / bound.line_rate, 4)
    return fields


def cmux_share(n1: int) -> float:
    """The share of the line a transparent-mode DLC of 3GPP TS 27.010 (basic
    option, UIH frames of ``n1`` information bytes) carries: flag, address,
    control, length (two bytes above 127), FCS and closing flag around each
    frame, no byte stuffing, and no TCP or TLS bytes (the module has those)."""
    return n1 / (n1 + 6 + (n1 > 127))


def smallest_n1(share: float, largest: int = 32768) -> int:
    """The smallest N1 from which on every N1 up to ``largest`` carries more than
    ``share``; ``largest + 1`` when ``largest`` itself does not."""
    n1 = largest + 1
    while n1 > 1 and cmux_share(n1 - 1) > share:
        n1 -= 1
    return n1


def main() -> None:
    """``python -m tests.benchmarks.ppp_bound``: the shares of each link, and N1."""
    for name, link in VARIANTS.items():
        print(f"{link.one_way_share:.4f} one way, {link.each_way_share:.4f} each way: {name}")
    bound = LINUX_PPPD
    for what, share in (("one way", bound.one_way_share), ("each way", bound.each_way_share)):
        short, long = smallest_n1(share, 127), smallest_n1(share)
        above = f"N1 >= {long}" if long <= 127 else f"N1 {short}-127 or N1 >= {long}"
        print(f"CMUX transparent DLC above the bound {what} ({share:.4f}): {above} "
              f"(N1 {short}: {cmux_share(short):.4f}, 127: {cmux_share(127):.4f}, "
              f"{long}: {cmux_share(long):.4f})")


if __name__ == "__main__":
    main()

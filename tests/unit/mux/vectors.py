"""27.010 frames that other people's code and modules wrote: golden vectors.

Each was produced by something other than this project, so a slip our
framer and our emulator share (the same hands wrote both) fails here.

* ``ZEPHYR``: the frames of Zephyr's CMUX unit test
  (zephyrproject-rtos/zephyr, tests/subsys/modem/modem_cmux/src/main.c):
  SABM/UA/DISC on DLC 0-2, CLD, MSC, FCon/FCoff, AT data on DLC 1 and 2.
* ``BG96``: frames a Quectel BG96 wrote, from the logs users posted to
  espressif/esp-protocols#103 (the UA of DLC 1 and 2) and #305 (the module
  echoing ``AT+CSQ`` one byte per frame on DLC 2, C/R 0 from the responder).
"""

from __future__ import annotations

from modem.core.mux import Frame, FrameType


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(text)


SABM, UA, DISC, UIH = FrameType.SABM, FrameType.UA, FrameType.DISC, FrameType.UIH

ZEPHYR: dict[str, tuple[bytes, Frame]] = {
    "sabm dlc 0": (hexbytes("F9 03 3F 01 1C F9"), Frame(0, SABM, cr=True, pf=True)),
    "ua dlc 0": (hexbytes("F9 03 73 01 D7 F9"), Frame(0, UA, cr=True, pf=True)),
    "cld command": (hexbytes("F9 03 EF 05 C3 01 F2 F9"), Frame(0, UIH, cr=True, info=b"\xc3\x01")),
    "cld response": (hexbytes("F9 03 EF 05 C1 01 F2 F9"), Frame(0, UIH, cr=True, info=b"\xc1\x01")),
    "sabm dlc 1": (hexbytes("F9 07 3F 01 DE F9"), Frame(1, SABM, cr=True, pf=True)),
    "ua dlc 1": (hexbytes("F9 07 73 01 15 F9"), Frame(1, UA, cr=True, pf=True)),
    "disc dlc 1": (hexbytes("F9 07 53 01 3F F9"), Frame(1, DISC, cr=True, pf=True)),
    "sabm dlc 2": (hexbytes("F9 0B 3F 01 59 F9"), Frame(2, SABM, cr=True, pf=True)),
    "disc dlc 2": (hexbytes("F9 0B 53 01 B8 F9"), Frame(2, DISC, cr=True, pf=True)),
    "msc command": (hexbytes("F9 01 FF 0B E3 07 0B 09 01 6C F9"),
                    Frame(0, UIH, pf=True, info=hexbytes("E3 07 0B 09 01"))),
    "fcon command": (hexbytes("F9 01 FF 05 A3 01 86 F9"), Frame(0, UIH, pf=True,
                                                                 info=b"\xa3\x01")),
    "fcoff command": (hexbytes("F9 01 FF 05 63 01 86 F9"), Frame(0, UIH, pf=True,
                                                                  info=b"\x63\x01")),
    "AT on dlc 1": (hexbytes("F9 07 EF 05 41 54 30 F9"), Frame(1, UIH, cr=True, info=b"AT")),
    "CRLF on dlc 1": (hexbytes("F9 07 EF 05 0D 0A 30 F9"), Frame(1, UIH, cr=True,
                                                                 info=b"\r\n")),
    "CRLF on dlc 2": (hexbytes("F9 0B EF 05 0D 0A B7 F9"), Frame(2, UIH, cr=True,
                                                                 info=b"\r\n")),
    "AT+CGDCONT on dlc 2": (
        hexbytes("F9 0B EF 43 41 54 2B 43 47 44 43 4F 4E 54 3D 31 2C 22 49 50 22 2C 22 74 72 61"
                 " 63 6B 75 6E 69 74 2E 6D 32 6D 22 23 F9"),
        Frame(2, UIH, cr=True, info=b'AT+CGDCONT=1,"IP","trackunit.m2m"')),
}

BG96: dict[str, tuple[bytes, Frame]] = {
    "ua dlc 1": (hexbytes("f9 07 73 01 15 f9"), Frame(1, UA, cr=True, pf=True)),
    "ua dlc 2": (hexbytes("f9 0b 73 01 92 f9"), Frame(2, UA, cr=True, pf=True)),
    "echo A on dlc 2": (hexbytes("f9 09 ef 03 41 32 f9"), Frame(2, UIH, info=b"A")),
    "echo T on dlc 2": (hexbytes("f9 09 ef 03 54 32 f9"), Frame(2, UIH, info=b"T")),
    "echo CR on dlc 2": (hexbytes("f9 09 ef 03 0d 32 f9"), Frame(2, UIH, info=b"\r")),
}

ALL = {**{f"zephyr {k}": v for k, v in ZEPHYR.items()}, **{f"bg96 {k}": v for k, v in BG96.items()}}

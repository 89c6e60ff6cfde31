"""The texts of numeric ``+CME ERROR: <n>`` codes that have no class of their own.

3GPP TS 27.007 (the codes a bring-up meets) and the Quectel FILE AT Commands
Manual's summary of error codes.  The SSL codes 550-574 and FILE code 421
have classes in ``modem.core.errors``, with their meanings.
"""

from __future__ import annotations

__all__ = ["CME_MEANINGS"]

CME_MEANINGS: dict[int, str] = {
    # 3GPP TS 27.007, the codes a bring-up meets.
    0: "phone failure",
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    13: "SIM failure",
    14: "SIM busy",
    15: "SIM wrong",
    16: "incorrect password",
    30: "no network service",
    50: "incorrect parameters",
    100: "unknown",
    # Quectel FILE AT Commands Manual, summary of error codes (421 has its class).
    400: "invalid input value",
    401: "larger than the size of the file",
    402: "read zero byte",
    403: "drive full",
    405: "file not found",
    406: "invalid file name",
    407: "file already existed",
    409: "fail to write the file",
    410: "fail to open the file",
    411: "fail to read the file",
    413: "reach the max number of file allowed to be opened",
    414: "the file read-only",
    416: "invalid file descriptor",
    417: "fail to list the file",
    418: "fail to create the file",
    419: "fail to delete the file",
    420: "disk full",
    423: "the file is too large",
    425: "invalid parameter",
    426: "the file has been opened",
}


"""The 3GPP TS 27.010 (GSM 07.10) multiplexer, basic option, sans I/O.

``frames`` builds and finds frames (flag, address, control, length, FCS);
``messages`` the control channel's messages (MSC and its V.24 signals,
FCon/FCoff, CLD, Test, PN, NSC); ``connection.MuxConnection`` is the host's
state machine over both (h11 style: bytes in, events out); ``events`` and
``errors`` are what it gives back.  The Trio layer is
``modem.link.mux_session``.
"""

from modem.core.mux.connection import DEFAULT_N1, DlcState, MuxConnection, MuxState
from modem.core.mux.frames import Frame, FrameDecoder, FrameType, MuxCounters, encode_frame, fcs
from modem.core.mux.messages import (
    V24,
    ControlMessage,
    MessageType,
    ModemStatus,
    Parameters,
    decode_messages,
    encode_message,
)

__all__ = [
    "DEFAULT_N1", "V24", "ControlMessage", "DlcState", "Frame", "FrameDecoder", "FrameType",
    "MessageType", "ModemStatus", "MuxConnection", "MuxCounters", "MuxState", "Parameters",
    "decode_messages", "encode_frame", "encode_message", "fcs",
]

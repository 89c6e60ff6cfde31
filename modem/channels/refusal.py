"""``ChannelsRefused``: the module would not give a life several channels."""

from __future__ import annotations

from modem.core.errors import LocalMistake

__all__ = ["ChannelsRefused"]


class ChannelsRefused(LocalMistake):
    """The module refused several channels: ``ERROR`` to ``AT+CMUX``, DM to the
    multiplexer's start or to DLC 1, or a USB port that does not answer ``AT``
    (no answer to the start, or from any DLC, is a lost life: ``MuxStartFailed``;
    a later DLC that does not answer while DLC 1 does is left out).  The
    supervisor brings it up on one channel instead
    (``modem.core.channel_plan.ChannelRetry`` says when it asks again)."""

    hint = ("the proxy runs on one AT channel meanwhile; --channels single stops it "
            "from asking")

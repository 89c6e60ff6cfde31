"""The AT channels of a module life: one line, the 07.10 multiplexer's DLCs, or USB ports.

``opening.open_channels`` builds a life's ``channel_set.ChannelSet`` for the
plan ``planner.ChannelPlanner`` makes (``modem.core.channel_plan``): the
raw line (``single``), the multiplexer's DLCs (``mux_line``: ``cmux``) or
the module's other USB AT port (``ports``); ``streams`` counts the physical
lines and turns a DLC into an AT line; ``book.ChannelBook`` keeps what the
status page and ``/metrics`` show across lives; ``refusal.ChannelsRefused``
is a module that would not give several.
"""

from modem.channels.book import ChannelBook, ChannelCounts
from modem.channels.channel_set import AtSettings, Channel, ChannelSet, SocketLink
from modem.channels.opening import MUX_DLCS, ChannelOptions, ExtraPort, open_channels
from modem.channels.planner import ChannelPlanner
from modem.channels.refusal import ChannelsRefused

__all__ = [
    "MUX_DLCS", "AtSettings", "Channel", "ChannelBook", "ChannelCounts", "ChannelOptions",
    "ChannelPlanner", "ChannelSet", "ChannelsRefused", "ExtraPort", "SocketLink",
    "open_channels",
]

"""The module's life as the driver sees it (sans-I/O)."""

from __future__ import annotations

import enum

__all__ = ["ModuleState"]


class ModuleState(enum.StrEnum):
    """Where the module is in its life; the value is what the status page shows.

    ``STARTING`` until the first bring-up succeeds; ``READY`` while sockets
    can be opened; ``RECOVERING`` while the module is brought up again (lost,
    restarted, PDP context dropped); ``CLOSED`` once ``Modem.open`` exits.
    """

    STARTING = "starting"
    READY = "ready"
    RECOVERING = "recovering"
    CLOSED = "closed"

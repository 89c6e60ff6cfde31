"""Everything that speaks to the Quectel module.

``modem.protocol``, ``modem.events``, ``modem.commands`` and ``modem.errors``
are the sans-I/O core: they import neither Trio nor pyserial.
"""

__version__ = "0.1.0"

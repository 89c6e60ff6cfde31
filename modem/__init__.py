"""Everything that speaks to the Quectel module.

``modem.at_command``, ``modem.protocol``, ``modem.events``, ``modem.commands``,
``modem.errors``, ``modem.limits``, ``modem.restart_policy`` and
``modem.module_state`` are the sans-I/O core: they import neither Trio nor
pyserial (``tests/test_layering.py`` checks it).
"""

__version__ = "0.1.0"

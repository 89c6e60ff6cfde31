"""Everything that speaks to the Quectel module, bottom up:

* ``modem.core``: the sans-I/O core (the AT protocol, events, command
  builders and parsers, errors, the manual's limits, and the pure policies:
  push backpressure, URC polling, restarts, the clock).  It imports neither
  Trio nor pyserial, nor anything outside its folder (``tests/test_layering.py``).
* ``modem.link``: the Trio line: the serial stream, the command channel (one
  reader, one command at a time), error replies, the console's command path.
* ``modem.sockets``: the module's SSL sockets: ``SslSocket``, the socket
  table (IDs, opens, unconfirmed closes), the client-ID pool.
* ``modem.bringup``: from a silent line to a module ready for sockets, and
  the SSL contexts and clock kept right while it serves.
* ``modem.supervisor``: the module's lives; ``modem.driver``: ``Modem``, the
  facade the proxy uses.
* ``modem.emulator``: a virtual module on a pseudo-terminal (imports nothing
  of the above).
"""

__version__ = "0.1.0"  # the one place: pyproject.toml reads it (tool.setuptools.dynamic)

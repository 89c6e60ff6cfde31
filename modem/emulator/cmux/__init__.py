"""The module's side of ``AT+CMUX``: 3GPP TS 27.010 basic option, its own code.

``framing`` reads the host's frames and builds the module's (written apart
from the driver's ``modem.core.mux``, which it must not import: a slip the
two shared would go unseen); ``engine`` runs the multiplexer on an AT
port's line, one AT port per DLC; ``channel`` is a DLC's byte stream.
"""

"""The sans-I/O core: bytes in, events out, no Trio, no pyserial.

The AT protocol (``protocol``, ``events``, ``at_command``), the command
builders and parsers (``commands``), the manual's limits and error codes
(``limits``, ``errors``), and the pure policies the Trio layers apply
(``push_flow``, ``urc_watch``, ``restart_policy``, ``clock_policy``,
``module_state``).  Nothing here imports from outside this folder.
"""

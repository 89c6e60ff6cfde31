"""The operations surface: the status page and ``/metrics``, systemd
notification, SIGHUP reload, and the AT console (TCP, Unix socket, pty)."""

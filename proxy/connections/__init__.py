"""One proxied connection's life: admission to a module socket, the open,
the pump both ways, idle rules, how it ended (``Ending``), and the registry
of live connections and counters."""

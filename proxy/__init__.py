"""The TCP side: the ``ssl-proxy`` command (``cli``, ``runner``), the service
(``service``) and, in folders:

* ``proxy.config``: settings from flags and the TOML file, certificates,
  TLS profiles;
* ``proxy.modems``: the modules behind the proxy (the pool, placement,
  finding and opening the device);
* ``proxy.connections``: one connection's life (admission, the pump, idle
  rules, endings, the registry);
* ``proxy.ops``: the operations surface (status page, metrics, systemd,
  reload, the AT console);
* ``proxy.doctor``: ``ssl-proxy doctor``.
"""

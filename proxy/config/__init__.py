"""The proxy's settings: one table of them (``settings``), from which the flags,
the TOML file's checks and the defaults come; flags and file validated into
``ProxyConfig`` (``build``), the certificate files read and checked, one
``TlsProfile`` per distinct TLS setting."""

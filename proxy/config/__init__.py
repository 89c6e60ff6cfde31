"""The proxy's settings: flags and the TOML file validated into
``ProxyConfig``, the certificate files read and checked, one ``TlsProfile``
per distinct TLS setting."""

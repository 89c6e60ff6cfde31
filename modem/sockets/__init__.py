"""The module's SSL sockets: ``SslSocket`` (a ``trio.abc.Stream``), the
socket table (client IDs, pending opens, unconfirmed closes) and the
client-ID pool (manual 2.1.2-2.1.6)."""

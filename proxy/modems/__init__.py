"""The modules behind the proxy: the pool (each module its own driver),
placement (which module takes a connection, whose fault a failed open is),
finding and opening each module's AT port, and each module's status."""

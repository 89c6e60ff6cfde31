"""Bring-up (``steps``): from a silent line to a module ready for SSL
sockets; and what stays right while it serves: the SSL contexts
(``contexts``, on a reload) and the module clock (``clock_sync``)."""

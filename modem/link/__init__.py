"""The Trio line to the module: the serial stream, the AT command channel
(one reader task, one command at a time), the typed errors of failed
answers, and the AT console's command path."""

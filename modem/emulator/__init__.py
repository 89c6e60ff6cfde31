"""A virtual Quectel EC2x on a pseudo-terminal, with real TLS on the network side.

``Emulator.running(EmulatorConfig(...))`` serves the SSL AT commands of the
manual byte for byte (and the TCP/IP, FILE and 27.007 commands a bring-up
needs), opens real TCP + TLS connections honouring ``AT+QSSLCFG``, paces the
line to a baud rate and injects ``Fault``\\ s.  ``python -m modem.emulator``
runs it as a program.  See docs/emulator.md.
"""

from .config import EmulatorConfig
from .emulator import Emulator
from .fault_spec import parse_fault_spec
from .faults import Fault
from .files import qfupl_checksum

__all__ = ["Emulator", "EmulatorConfig", "Fault", "parse_fault_spec", "qfupl_checksum"]

"""One parsed AT command line: the command's name, its form, its parameter text
and the AT port it came on."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .at_port import AtPort
from .fields import Fields, split_fields


class Form(enum.Enum):
    """The four forms of an extended command (V.25ter 5.4; SSL manual 1.2)."""

    TEST = "=?"  # AT+CMD=?  what the command takes
    READ = "?"  # AT+CMD?   the current setting
    WRITE = "="  # AT+CMD=<params>
    EXECUTE = ""  # AT+CMD


@dataclass(frozen=True)
class Request:
    """``AT<name><form><args>`` as it came on ``port`` (whose line the answer
    goes to); ``args`` is the text after ``=`` of the write form."""

    name: str
    form: Form
    port: AtPort
    args: str = ""

    @property
    def fields(self) -> Fields:
        """The write form's parameters (``fields.split_fields``); ParamError if malformed."""
        return split_fields(self.args)

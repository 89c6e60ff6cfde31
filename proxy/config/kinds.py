"""What kind of value a setting holds: how it is written, checked and shown.

A ``Kind`` answers, for every setting of ``proxy.config.settings.SETTINGS``
that has it:

* ``toml_types``: what the TOML file may hold (``load_toml`` checks it);
* ``flag_options``: how argparse reads the flag (type, action, metavar);
* ``convert``: the value checked and turned into what ``ProxyConfig`` stores,
  or a one-line ``ConfigError`` that names the setting by ``label`` and never
  quotes the value of a secret;
* ``describe``: the Type column of docs/configuration.md.

``Structured`` marks the settings whose value is more than one field
(``--map``, ``[[modem]]`` tables...): their own parser, named in the kind,
reads them.
"""

from __future__ import annotations

import argparse
import enum
import re
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proxy.config.allow import AllowList, parse_allow
from proxy.config.endpoint import LOCALHOST, Endpoint
from proxy.config.parse import parse_ciphers, parse_endpoint, parse_resolve, parse_unix_socket
from proxy.errors import ConfigError


class Kind:
    """The base: a string, stored as given."""

    metavar = "VALUE"

    def toml_types(self) -> tuple[type, ...]:
        return (str,)

    def flag_options(self) -> dict[str, Any]:
        """Keywords for ``ArgumentParser.add_argument`` (the setting may add a metavar)."""
        return {"metavar": self.metavar}

    def flag_forms(self, flag: str, short: str | None) -> list[str]:
        """How the flag is spelt, for the docs."""
        return [flag]

    def convert(self, value: Any, label: str, modules: int) -> Any:
        """``value`` checked and converted; ``modules`` scales per-module limits."""
        return value

    def describe(self) -> str:
        return "string"

    def show(self, value: Any) -> str:
        """A default value as the TOML file would spell it."""
        return f'`"{value}"`' if isinstance(value, str) else f"`{value}`"


@dataclass(frozen=True)
class Number(Kind):
    """A number in ``low``-``high`` (no upper end when ``high`` is None); ``whole``
    numbers are ints, the others floats; ``per_module`` multiplies ``high`` by
    the count of modules; ``note`` says why the range is what it is."""

    low: float
    high: float | None = None
    whole: bool = True
    seconds: bool = False
    per_module: bool = False
    note: str = ""

    def toml_types(self) -> tuple[type, ...]:
        return (int,) if self.whole else (int, float)

    def flag_options(self) -> dict[str, Any]:
        return {"type": int if self.whole else float, "metavar": "S" if self.seconds else "N"}

    def convert(self, value: Any, label: str, modules: int) -> Any:
        high = self.high * modules if self.high is not None and self.per_module else self.high
        unit = " seconds" if self.seconds else ""
        note = f" {self.note}" if self.note else ""
        if high is None and value < self.low:
            raise ConfigError(f"{label}: {value} must be at least {self.low}{unit}{note}")
        if high is not None and not self.low <= value <= high:
            raise ConfigError(f"{label}: {value} is outside {self.low}-{high}{unit}{note}")
        return int(value) if self.whole else float(value)

    def describe(self) -> str:
        text = "seconds" if self.seconds else "number"
        if self.high is not None:
            text += f", {self.low}-{self.high}" + (" per module" if self.per_module else "")
        elif self.low:
            text += f", at least {self.low}"
        return f"{text} {self.note}" if self.note else text

    def show(self, value: Any) -> str:
        return f"{value:g}" if isinstance(value, float) else str(value)


AUTO = "auto"


def _number_or_auto(text: str) -> int | str:
    """argparse's type for ``Baud``: ``auto``, or a whole number."""
    if text == AUTO:
        return AUTO
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"want a number or auto, got {text!r}") from None


@dataclass(frozen=True)
class Baud(Number):
    """A serial speed, or ``auto``: the speed the module answers at, found at
    start (stored as None)."""

    def toml_types(self) -> tuple[type, ...]:
        return (int, str)

    def flag_options(self) -> dict[str, Any]:
        return {"type": _number_or_auto, "metavar": "N|auto"}

    def convert(self, value: Any, label: str, modules: int) -> Any:
        if value == AUTO:
            return None
        if not isinstance(value, int):
            raise ConfigError(f"{label}: {value!r} is not a speed: give a number or auto")
        return super().convert(value, label, modules)

    def describe(self) -> str:
        return f"{super().describe()}, or `auto`"


class OnOff(Kind):
    """true or false; the flag has a ``--no-`` form to override the file."""

    def toml_types(self) -> tuple[type, ...]:
        return (bool,)

    def flag_options(self) -> dict[str, Any]:
        return {"action": argparse.BooleanOptionalAction}

    def flag_forms(self, flag: str, short: str | None) -> list[str]:
        return [flag, f"--no-{flag.removeprefix('--')}"]

    def convert(self, value: Any, label: str, modules: int) -> bool:
        return bool(value)

    def describe(self) -> str:
        return "true/false"

    def show(self, value: Any) -> str:
        return "true" if value else "false"


class Count(Kind):
    """A level: the flag counts (``-vv`` is 2), the file gives a number or true/false."""

    def toml_types(self) -> tuple[type, ...]:
        return (bool, int)

    def flag_options(self) -> dict[str, Any]:
        return {"action": "count"}

    def flag_forms(self, flag: str, short: str | None) -> list[str]:
        return [short, short + short[1:]] if short else [flag]

    def convert(self, value: Any, label: str, modules: int) -> int:
        return int(value)

    def describe(self) -> str:
        return "0, 1, 2 (or true/false)"

    def show(self, value: Any) -> str:
        return str(value)


@dataclass(frozen=True)
class Choice(Kind):
    """One of ``options`` (the name written -> the value stored); ``note`` says
    what the setting is, in the message for a value not among them."""

    options: MappingABC[str, Any]
    note: str = ""

    @classmethod
    def of(cls, choices: type[enum.StrEnum], note: str = "") -> Choice:
        """Every member of ``choices``, stored as the member."""
        return cls({member.value: member for member in choices}, note)

    def flag_options(self) -> dict[str, Any]:
        return {"metavar": "{" + ",".join(self.options) + "}"}

    def convert(self, value: Any, label: str, modules: int) -> Any:
        if value not in self.options:
            note = f" ({self.note})" if self.note else ""
            raise ConfigError(f"{label}: {value!r} is not one of "
                              f"{', '.join(self.options)}{note}")
        return self.options[value]

    def describe(self) -> str:
        return ", ".join(f'`"{name}"`' for name in self.options)


class Apn(Kind):
    """An APN for ``AT+QICSGP``: printable, no double quote (AT cannot carry one)."""

    metavar = "APN"

    def convert(self, value: Any, label: str, modules: int) -> str:
        if not value or '"' in value or not value.isprintable():
            raise ConfigError(f"{label}: give the operator's APN, e.g. internet "
                              "(or leave it out to use the module's own context)")
        return str(value)


class ApnCredential(Kind):
    """An APN user name or password for ``AT+QICSGP``: no double quote."""

    def convert(self, value: Any, label: str, modules: int) -> str:
        if '"' in value:
            raise ConfigError(f"{label} cannot contain a double quote (the module's "
                              "AT+QICSGP has no escape for it)")
        return str(value)


_MODEM_NAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")


class ModemName(Kind):
    """A ``[[modem]]``'s name: what the status page, the logs and a map's ``modems`` say."""

    def convert(self, value: Any, label: str, modules: int) -> str:
        if not _MODEM_NAME.fullmatch(value):
            raise ConfigError(f"{label}: {value!r} must be 1-32 letters, digits, '.', '_' "
                              "or '-'")
        return str(value)

    def describe(self) -> str:
        return "string: letters, digits, `.`, `_`, `-`"


class ModemNames(Kind):
    """A map's modules: a list of ``[[modem]]`` names."""

    def toml_types(self) -> tuple[type, ...]:
        return (list,)

    def convert(self, value: Any, label: str, modules: int) -> tuple[str, ...]:
        if not all(isinstance(name, str) for name in value):
            raise ConfigError(f"{label} must be a list of [[modem]] names")
        return tuple(value)

    def describe(self) -> str:
        return 'list of `[[modem]]` names, `["carrier-a"]`'


class InputFile(Kind):
    """A file the proxy reads; in the TOML file relative to the file's directory."""

    metavar = "FILE"

    def convert(self, value: Any, label: str, modules: int) -> Path | None:
        return Path(value).expanduser() if value else None

    def describe(self) -> str:
        return "path"


class DevicePath(Kind):
    """A serial device (as written: ``/dev/...`` paths are absolute)."""

    metavar = "PATH"

    def describe(self) -> str:
        return "path"


class LinkPath(Kind):
    """Where the proxy makes a link (relative to the working directory)."""

    metavar = "PATH"

    def convert(self, value: Any, label: str, modules: int) -> str | None:
        return str(Path(value).expanduser()) if value else None

    def describe(self) -> str:
        return "a path"


class Address(Kind):
    """A listening address: ``[BIND:]PORT`` (a bare port is on 127.0.0.1; 0 any free)."""

    metavar = "[BIND:]PORT"

    def toml_types(self) -> tuple[type, ...]:
        return (str, int)

    def convert(self, value: Any, label: str, modules: int) -> Endpoint | None:
        if value is None or value == "":
            return None
        return parse_endpoint(str(value), label, default_host=LOCALHOST, allow_zero=True)

    def describe(self) -> str:
        return '`"BIND:PORT"` or a port'


class ConsoleAddress(Kind):
    """An ``Address``, or ``unix:PATH`` (a Unix socket: a ``Path``)."""

    metavar = f"unix:PATH|{Address.metavar}"

    def toml_types(self) -> tuple[type, ...]:
        return Address().toml_types()

    def convert(self, value: Any, label: str, modules: int) -> Endpoint | Path | None:
        return parse_unix_socket(value, label) or Address().convert(value, label, modules)

    def describe(self) -> str:
        return '`"unix:PATH"` (recommended), `"BIND:PORT"` or a port'


class ClientNetworks(Kind):
    """An allow list (``proxy.config.allow``): a TOML list of addresses and
    networks, or a string of them separated by commas; the flag repeats."""

    metavar = "NET,..."

    def toml_types(self) -> tuple[type, ...]:
        return (list, str)

    def flag_options(self) -> dict[str, Any]:
        return {"action": "append", "metavar": self.metavar}

    def convert(self, value: Any, label: str, modules: int) -> AllowList:
        return parse_allow([value] if isinstance(value, str) else value, label)

    def describe(self) -> str:
        return 'list of addresses and networks `["10.0.0.0/8", "192.168.1.7"]`'


class Ciphers(Kind):
    """Cipher suite codes of manual 2.1.1: ``"0xC02F,0x0035"`` or a TOML list."""

    metavar = "CODE,..."

    def toml_types(self) -> tuple[type, ...]:
        return (str, list)

    def convert(self, value: Any, label: str, modules: int) -> tuple[int, ...]:
        return parse_ciphers(value, label)

    def describe(self) -> str:
        return 'list of codes `["0xC02F"]` or a string `"0xC02F,0x0035"`'

    def show(self, value: Any) -> str:
        return "`[" + ", ".join(f'"0x{code:04X}"' for code in value) + "]`"


class Resolve(Kind):
    """The emulator's DNS: ``NAME=IP`` entries (a repeated flag, a TOML list or table)."""

    metavar = "NAME=IP"

    def toml_types(self) -> tuple[type, ...]:
        return (dict, list)

    def flag_options(self) -> dict[str, Any]:
        return {"action": "append", "metavar": self.metavar}

    def convert(self, value: Any, label: str, modules: int) -> tuple[tuple[str, str], ...]:
        entries = [f"{k}={v}" for k, v in value.items()] if isinstance(value, dict) else value
        return tuple(parse_resolve(str(entry)) for entry in entries)

    def describe(self) -> str:
        return 'table `{ "name" = "ip" }` or list `["name=ip"]`'


@dataclass(frozen=True)
class Structured(Kind):
    """A value its own parser reads (``parsed_by`` names it); ``repeated``: the
    flag may be given more than once; ``tables``: the file has it as
    ``[[name]]`` tables, each with keys of its own."""

    parsed_by: str
    types: tuple[type, ...]
    description: str
    flag_metavar: str = "VALUE"
    repeated: bool = False
    tables: bool = False

    def toml_types(self) -> tuple[type, ...]:
        return self.types

    def flag_options(self) -> dict[str, Any]:
        return {"metavar": self.flag_metavar, **({"action": "append"} if self.repeated else {})}

    def convert(self, value: Any, label: str, modules: int) -> Any:
        raise TypeError(f"{label} is read by {self.parsed_by}, not by the settings loop")

    def describe(self) -> str:
        return self.description

"""What a row of the settings table is (``Setting``), and how values are read.

``proxy.config.settings.SETTINGS`` is the table; this module says what its
columns mean: where a setting may be written (``Place``), the ``--help``
section and docs table it belongs to (``Group``), and ``read``, the one loop
that checks and converts given values (flags, a TOML table) into the fields
of the model.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import Any

from proxy.config.kinds import Kind, Number, OnOff, Structured


class Place(enum.Flag):
    """Where a setting may be written."""

    FLAG = enum.auto()
    """An ``ssl-proxy`` flag."""
    TOP = enum.auto()
    """A key at the top of the TOML file."""
    MAP = enum.auto()
    """A key of a ``[[map]]`` table."""
    MODEM = enum.auto()
    """A key of a ``[[modem]]`` table."""
    DOCTOR = enum.auto()
    """An ``ssl-proxy doctor`` flag."""


class Group(enum.Enum):
    """The ``--help`` section of a flag, and the table of docs/configuration.md
    it is listed in (TLS, IDLE, ACCESS, MAP and MODEM have their own; the
    others are the top level's)."""

    SETTINGS_FILE = "settings file"
    MODULE = "module"
    NETWORK = "network (PDP context)"
    MAPPINGS = "mappings"
    TLS = "TLS (for every map; a [[map]] table may set its own)"
    LIMITS = "limits and shutdown"
    IDLE = "idle connections (for every map; a [[map]] table may set its own)"
    ACCESS = "client access (for every TCP map; a [[map]] table may set its own)"
    SERVICES = "services"
    LOGGING = "logging"
    EMULATOR = "emulator (no module needed)"
    MAP = "[[map]] tables"
    MODEM = "[[modem]] tables"


PER_MAP_GROUPS = (Group.TLS, Group.IDLE, Group.ACCESS, Group.MAP)
"""Groups whose settings live in each ``Mapping``, not in ``ProxyConfig`` itself."""


@dataclass(frozen=True)
class Setting:
    """One row of ``SETTINGS``.

    ``default_text`` says the default in words where the value alone does not
    (None: "the module's own context"); ``inherits``: a ``[[modem]]`` key whose
    default is the top-level setting of the same name; ``required``: a table
    without it is refused; ``secret``: the value never appears in a message;
    ``field``: the dataclass field it fills.
    """

    name: str
    kind: Kind
    group: Group
    help: str
    default: Any = None
    places: Place = Place.FLAG | Place.TOP
    metavar: str | None = None
    default_text: str | None = None
    reloadable: bool = False
    short: str | None = None
    secret: bool = False
    inherits: bool = False
    required: bool = False
    field: str = ""

    def __post_init__(self) -> None:
        if not self.field:
            object.__setattr__(self, "field", self.name.replace("-", "_"))

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def structured(self) -> bool:
        """Read by its own parser (``Structured``), not by ``read``."""
        return isinstance(self.kind, Structured)

    @property
    def per_module(self) -> bool:
        """A limit that grows with the count of modules."""
        return isinstance(self.kind, Number) and self.kind.per_module

    def default_for(self, modules: int) -> Any:
        """The default with ``modules`` modules."""
        return self.default * modules if self.per_module else self.default

    def default_words(self) -> str | None:
        """The default as ``--help`` says it; None: nothing to say."""
        if self.required:
            return "required"
        if self.default_text is not None:
            return self.default_text
        if isinstance(self.kind, OnOff):
            return "on" if self.default else "off"
        if self.default is None or self.default in ("", ()):
            return None
        return self.kind.show(self.default).strip('`"')


@dataclass(frozen=True)
class Where:
    """Where values were written: ``prefix`` names a setting in messages
    (``--baud``, ``[[map]] #2: idle-reclaim``); ``modules`` scales per-module limits."""

    prefix: str = "--"
    modules: int = 1

    def label(self, name: str) -> str:
        return f"{self.prefix}{name}"


TOP_LEVEL = Where()
"""Flags and the file's top level: both named as the flag."""


@dataclass(frozen=True)
class SettingsTable:
    """``SETTINGS``: the rows, and what the code asks of them."""

    rows: tuple[Setting, ...]

    def where(self, place: Place, *groups: Group) -> tuple[Setting, ...]:
        """The rows that may appear at ``place`` (of ``groups`` when given), in order."""
        return tuple(row for row in self.rows if row.places & place
                     and (not groups or row.group in groups))

    def get(self, name: str, place: Place = Place.TOP | Place.FLAG) -> Setting:
        """The row named ``name`` that may appear at ``place``."""
        for row in self.rows:
            if row.name == name and row.places & place:
                return row
        raise KeyError(name)

    def default(self, name: str, place: Place = Place.TOP | Place.FLAG) -> Any:
        return self.get(name, place).default

    def reloadable_fields(self) -> frozenset[str]:
        """The ``ProxyConfig`` fields a reload applies."""
        return frozenset(row.field for row in self.where(Place.TOP | Place.FLAG)
                         if row.reloadable and row.group not in PER_MAP_GROUPS)

    def name_of_field(self, field_name: str) -> str:
        """The setting that fills ``ProxyConfig.<field_name>``, as the flag spells it."""
        for row in self.where(Place.TOP | Place.FLAG):
            if row.field == field_name:
                return row.name
        return field_name.replace("_", "-")


def read(rows: Iterable[Setting], given: MappingABC[str, Any], where: Where = TOP_LEVEL,
         *, defaults: bool = False) -> dict[str, Any]:
    """The values of ``rows`` that ``given`` holds (keys spelt as the flags),
    checked and converted: field name -> value.  ``defaults``: every row, its
    default where ``given`` has none.  ``ConfigError`` names the setting."""
    out: dict[str, Any] = {}
    for row in rows:
        value = given.get(row.name)
        if value is not None:
            out[row.field] = row.kind.convert(value, where.label(row.name), where.modules)
        elif defaults:
            out[row.field] = row.default_for(where.modules)
    return out

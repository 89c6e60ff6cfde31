"""The rules between settings, each a small function; ``build_config`` and the
doctor apply the ones that concern what they read.

Each checks or completes values that ``proxy.config.schema.read`` has read
one by one: ``given`` is what the flags and the file say (keys spelt as the
flags), ``values`` the read values by field name.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from pathlib import Path
from typing import Any

from proxy.config.settings import APN_AUTH
from proxy.errors import ConfigError

EMULATOR_ONLY = ("resolve", "emulate-baud", "emulate-latency-ms")
"""Settings of the emulator's network and line: a real module has its own."""


def merge(flags: MappingABC[str, Any], file: MappingABC[str, Any]
          ) -> tuple[dict[str, Any], list[str]]:
    """The file's top level with the flags over it (``--map`` aside), and notices.

    A flag also beats the file's opposite choice, so a real config can be
    tried with ``--emulate`` (the file's device is not used) or ``--device``
    (the file's ``emulate = true`` is not used); each says so in a notice.
    """
    given = {**file, **{k: v for k, v in flags.items() if k != "map"}}
    notices: list[str] = []
    if flags.get("emulate") and file.get("device") and not flags.get("device"):
        notices.append(f"--emulate given: the config file's device = {file['device']!r} "
                       "is not used")
        given.pop("device")
    elif flags.get("device") and file.get("emulate") and not flags.get("emulate"):
        notices.append("--device given: the config file's emulate = true is not used")
        given.pop("emulate")
    return given, notices


def emulating(given: MappingABC[str, Any]) -> bool:
    """``--emulate``, or ``--emulate-modems`` other than 1 (which implies it)."""
    return bool(given.get("emulate", False)) or given.get("emulate-modems", 1) != 1


def check_device_or_emulate(devices: list[str], emulate: bool) -> None:
    if emulate and devices:
        raise ConfigError("--device and --emulate exclude each other; drop one")


def check_emulator_only(given: MappingABC[str, Any], emulate: bool) -> None:
    """``EMULATOR_ONLY`` settings need ``--emulate``."""
    for name in EMULATOR_ONLY:
        if given.get(name) and not emulate:
            raise ConfigError(f"--{name} only works with --emulate "
                              "(a real module uses its own network)")


def complete_apn_auth(values: dict[str, Any]) -> None:
    """``apn-auth`` when not given: pap-or-chap with a user name, else none; and
    credentials need an APN to go with."""
    if values["apn_auth"] is None:
        values["apn_auth"] = APN_AUTH["pap-or-chap" if values["apn_user"] else "none"]
    if (values["apn_user"] or values["apn_password"]) and values["apn"] is None:
        raise ConfigError("--apn-user/--apn-password need --apn too")


def check_trace_payload(values: MappingABC[str, Any]) -> None:
    if values["trace_payload"] and not values["trace_at"]:
        raise ConfigError("--trace-payload only adds payload bytes to --trace-at; "
                          "give --trace-at too")


def split_at_console(values: dict[str, Any]) -> None:
    """``--at-console unix:PATH`` is a Unix socket (``at_console_unix``), not an address."""
    console = values.get("at_console")
    values["at_console_unix"] = console if isinstance(console, Path) else None
    if isinstance(console, Path):
        values["at_console"] = None

"""The command-line flags, one per setting of ``SETTINGS`` that is a flag.

``add_flags`` is the loop ``ssl-proxy`` and ``ssl-proxy doctor`` build their
parsers with.  A flag not given is absent from the parsed namespace
(``argparse.SUPPRESS``), so the file's key, or the default, stays in force;
a given one is found under the setting's name (``vars(ns)["urc-port"]``).
Values are checked afterwards, by the same ``read`` as the file's.
"""

from __future__ import annotations

import argparse
from typing import Any

from proxy.config.schema import Group, Place, Setting
from proxy.config.settings import SETTINGS


def help_text(row: Setting) -> str:
    """``row``'s help with its default, as the table says it."""
    words = row.default_words()
    return f"{row.help} (default: {words})" if words else row.help


def add_flags(parser: argparse.ArgumentParser, place: Place
              ) -> dict[Group, argparse._ArgumentGroup]:
    """Add the flags of every setting that may appear at ``place`` (``Place.FLAG``
    or ``Place.DOCTOR``), each in its group's section of ``--help``; the sections."""
    sections: dict[Group, argparse._ArgumentGroup] = {}
    for row in SETTINGS.where(place):
        if row.group not in sections:
            sections[row.group] = parser.add_argument_group(row.group.value)
        options: dict[str, Any] = row.kind.flag_options()
        if row.metavar is not None and "metavar" in options:
            options["metavar"] = row.metavar
        names = [row.short, row.flag] if row.short else [row.flag]
        sections[row.group].add_argument(*names, dest=row.name, default=argparse.SUPPRESS,
                                         help=help_text(row), **options)
    return sections

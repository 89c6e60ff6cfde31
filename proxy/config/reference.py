"""The reference tables of docs/configuration.md, made from ``SETTINGS``.

``python -m proxy.config.reference`` prints them, each under the heading it
stands under in the docs; tests/proxy/test_config_reference.py fails while
the docs hold anything else.
"""

from __future__ import annotations

from proxy.config.kinds import Structured
from proxy.config.schema import PER_MAP_GROUPS, Group, Place, Setting
from proxy.config.settings import SETTINGS


def _top_level(row: Setting) -> bool:
    tables = isinstance(row.kind, Structured) and row.kind.tables
    return not tables and row.group not in (*PER_MAP_GROUPS, Group.MODEM)


SECTIONS: dict[str, tuple[Setting, ...]] = {
    "### At the top level": tuple(r for r in SETTINGS.where(Place.TOP) if _top_level(r)),
    "### TLS keys": SETTINGS.where(Place.TOP, Group.TLS),
    "### Idle keys": SETTINGS.where(Place.TOP, Group.IDLE),
    "### Access keys": SETTINGS.where(Place.TOP, Group.ACCESS),
    "### `[[map]]` tables": SETTINGS.where(Place.MAP, Group.MAP),
    "### `[[modem]]` tables: several modules": SETTINGS.where(Place.MODEM),
}
"""Each table's heading in docs/configuration.md, and its rows."""


def default_cell(row: Setting) -> str:
    if row.required:
        return "required"
    if row.inherits:
        return f"the top-level `{row.name}`"
    if row.default_text is not None:
        return row.default_text
    return row.kind.show(row.default)


def _flag_cell(row: Setting) -> str:
    return ", ".join(f"`{form}`" for form in row.kind.flag_forms(row.flag, row.short))


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def markdown_table(rows: tuple[Setting, ...]) -> str:
    """``rows`` as a Markdown table: with their flags when they have any, else
    with what they mean."""
    flags = all(row.places & Place.FLAG for row in rows)
    head = ["Key", "Type", "Default", *(["Flag", "Reload"] if flags else ["Meaning"])]
    lines = [_line(head), "|" + "---|" * len(head)]
    for row in rows:
        cells = [f"`{row.name}`", row.kind.describe(), default_cell(row)]
        if flags:
            cells += [_flag_cell(row), "yes" if row.reloadable else "restart"]
        else:
            cells.append(row.help)
        lines.append(_line(cells))
    return "\n".join(lines)


def all_tables() -> str:
    return "\n\n".join(f"{heading}\n\n{markdown_table(rows)}"
                       for heading, rows in SECTIONS.items())


if __name__ == "__main__":
    print(all_tables())

"""The settings table (``proxy.config.settings``) and what is made from it: the
docs' reference tables, ``--help``, the flags and keys, the defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modem.core.commands import URC_PORTS
from proxy.cli import build_parser, parse_command_line
from proxy.config.model import Mapping, ModemSpec, ProxyConfig, TlsOptions
from proxy.config.reference import SECTIONS, markdown_table
from proxy.config.schema import TOP_LEVEL, Place
from proxy.config.settings import SETTINGS, UrcPortChoice
from proxy.errors import ConfigError

DOCS = Path(__file__).resolve().parents[2] / "docs"
ROWS = SETTINGS.rows


def _first_table_after(text: str, heading: str) -> str:
    rest = text[text.index(heading + "\n"):].splitlines()
    start = next(n for n, line in enumerate(rest) if line.startswith("|"))
    end = next(n for n in range(start, len(rest)) if not rest[n].startswith("|"))
    return "\n".join(rest[start:end])


@pytest.mark.parametrize("heading", list(SECTIONS))
def test_the_docs_reference_tables_are_the_settings_table(heading):
    """docs/configuration.md holds each table as ``python -m proxy.config.reference``
    prints it: a setting added, removed or changed in the code fails here."""
    doc = (DOCS / "configuration.md").read_text()
    assert _first_table_after(doc, heading) == markdown_table(SECTIONS[heading])


def test_every_flag_is_in_the_usage_page():
    usage = (DOCS / "usage.md").read_text()
    for row in SETTINGS.where(Place.FLAG):
        forms = row.kind.flag_forms(row.flag, row.short)
        assert any(re.search(rf"`{re.escape(form)}[ `]", usage) for form in forms), row.name


@pytest.mark.parametrize("row", [r for r in ROWS if r.default is not None and not r.structured],
                         ids=lambda r: f"{r.name}@{r.group.name}")
def test_each_default_passes_its_own_check(row):
    assert row.kind.convert(row.default, row.flag, 1) == row.default


def test_the_dataclass_defaults_are_the_tables():
    config = ProxyConfig(maps=())
    for row in SETTINGS.where(Place.TOP):
        if hasattr(config, row.field) and row.default is not None:
            assert getattr(config, row.field) == row.default, row.name
    tls, spec = TlsOptions(), ModemSpec("m")
    for row in SETTINGS.where(Place.MAP):
        if hasattr(tls, row.field):
            assert getattr(tls, row.field) == row.default, row.name
    assert (spec.baud, spec.apn, spec.urc_port) == (
        SETTINGS.default("baud"), SETTINGS.default("apn"), SETTINGS.default("urc-port"))
    assert Mapping.__dataclass_fields__["idle_reclaim"].default == SETTINGS.default(
        "idle-reclaim")


def test_the_defaults_a_bare_command_line_gets_are_the_tables():
    config = parse_command_line(["--map", "9000=h:1"])
    top = [r for r in SETTINGS.where(Place.FLAG) if not r.structured and hasattr(config, r.field)]
    assert top, "the table has top-level settings"
    for row in top:
        if row.default is not None:
            assert getattr(config, row.field) == row.default, row.name


def test_help_shows_each_default_from_the_table():
    text = " ".join(build_parser().format_help().split())
    for row in SETTINGS.where(Place.FLAG):
        assert "(default" not in row.help, f"{row.name}: the table adds the default"
        words = row.default_words()
        if words is not None:
            assert f"(default: {words})" in text, row.name


def test_enum_settings_are_stored_as_their_enums():
    config = parse_command_line(["--map", "9000=h:1", "--urc-port", "uart1",
                                 "--access-mode", "buffer", "--log-format", "json"])
    assert config.urc_port is UrcPortChoice.UART1
    assert type(config.access_mode).__name__ == "AccessMode" and config.access_mode == "buffer"
    assert type(config.log_format).__name__ == "LogFormat" and config.log_format == "json"


def test_the_urc_port_choices_are_the_modules_ports_and_auto():
    assert [str(c) for c in UrcPortChoice] == [*URC_PORTS, "auto"]


def test_a_secret_is_never_quoted_back():
    row = SETTINGS.get("apn-password")
    assert row.secret
    with pytest.raises(ConfigError) as info:
        row.kind.convert('hunter2"', TOP_LEVEL.label(row.name), 1)
    assert "hunter2" not in str(info.value) and "--apn-password" in str(info.value)


def test_per_module_limits_grow_with_the_modules():
    row = SETTINGS.get("max-connections")
    assert row.default_for(3) == 3 * row.default
    assert row.kind.convert(30, "--max-connections", 3) == 30
    with pytest.raises(ConfigError, match="--max-connections: 37 is outside 1-36"):
        row.kind.convert(37, "--max-connections", 3)


def test_names_appear_twice_only_in_different_places():
    seen: dict[str, Place] = {}
    for row in ROWS:
        assert not (seen.get(row.name, Place(0)) & row.places), row.name
        seen[row.name] = seen.get(row.name, Place(0)) | row.places

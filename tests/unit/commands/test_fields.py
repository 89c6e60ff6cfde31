"""The field syntax of modem.commands: splitting, quoting, unsafe strings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modem.core import commands as c

# -- split_fields ----


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("", []),
        ("   ", []),
        ("1", [1]),
        ('1,1,1,"10.7.157.1"', [1, 1, 1, "10.7.157.1"]),
        (' 4 , "SSLClient" ,8010', [4, "SSLClient", 8010]),
        ('"a,b",c', ["a,b", "c"]),
        ('"  spaced  "', ["  spaced  "]),
        ("0xC02F,0XFFFF,0x0035", [0xC02F, 0xFFFF, 0x35]),
        ("-5,+5,0x,12ab", [-5, "+5", "0x", "12ab"]),
        ("1,,2,", [1, "", 2, ""]),
        ('"",""', ["", ""]),
        ("SIM PIN", ["SIM PIN"]),
        ('"sslversion",(0-5),(0-4)', ["sslversion", "(0-5)", "(0-4)"]),
        ('"ciphersuite",(0-5),(0X0035,0X002F)', ["ciphersuite", "(0-5)", "(0X0035,0X002F)"]),
        ('"ri",("off","pul,se"),(1-5)', ["ri", '("off","pul,se")', "(1-5)"]),
        ("(1-16),(0-5),<serveraddr>", ["(1-16)", "(0-5)", "<serveraddr>"]),
    ],
)
def test_split_fields(text: str, fields: list[str | int]) -> None:
    assert c.split_fields(text) == fields


@pytest.mark.parametrize(
    "text",
    ['"open', '1,"open', 'ab"c"', '"a"b', "(0-5", "0-5)", "(1,(2)", '("x)'],
)
def test_split_fields_rejects_malformed(text: str) -> None:
    with pytest.raises(ValueError):
        c.split_fields(text)


_quoted_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"')
)
_bare_word = st.from_regex(r"[A-Za-z_<>][A-Za-z0-9_.:<>/ -]*[A-Za-z0-9_<>]", fullmatch=True)
_field = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40).map(lambda n: (n, str(n))),
    st.integers(min_value=0, max_value=2**32).map(lambda n: (n, f"0x{n:X}")),
    st.integers(min_value=0, max_value=2**32).map(lambda n: (n, f"0X{n:04x}")),
    _quoted_text.map(lambda s: (s, f'"{s}"')),
    _bare_word.map(lambda s: (s, f" {s} ")),
    st.lists(
        _quoted_text.map(lambda s: f'"{s}"') | st.from_regex(r"[0-9-]+", fullmatch=True),
        min_size=1,
        max_size=4,
    ).map(lambda xs: ("(" + ",".join(xs) + ")",) * 2),
)


@given(st.lists(_field, min_size=1, max_size=12))
def test_split_fields_round_trip(pairs: list[tuple[str | int, str]]) -> None:
    text = ",".join(rendered for _value, rendered in pairs)
    assert c.split_fields(text) == [value for value, _rendered in pairs]


@given(st.text(max_size=200))
def test_split_fields_on_garbage_returns_or_raises_valueerror(text: str) -> None:
    try:
        fields = c.split_fields(text)
    except ValueError:
        return
    assert all(isinstance(f, str | int) for f in fields)


# -- quoting ----


def test_quote() -> None:
    assert c.quote("UFS:ca.pem") == '"UFS:ca.pem"'
    assert c.quote("") == '""'
    assert c.quote(" ~") == '" ~"'


@pytest.mark.parametrize("bad", ['a"b', "a\rb", "a\nb", "a\x00b", "a\x7fb", "caf\u00e9", "\x1a"])
def test_quote_rejects_unsafe_strings(bad: str) -> None:
    with pytest.raises(ValueError, match="apn"):
        c.quote(bad, "apn")


@pytest.mark.parametrize("bad", ['int"ernet', "internet\r", "inter\nnet", "in\x1bternet"])
def test_builders_reject_unsafe_strings_before_the_wire(bad: str) -> None:
    with pytest.raises(ValueError):
        c.qicsgp(1, bad)
    with pytest.raises(ValueError):
        c.qsslopen(1, 1, 0, bad, 443)

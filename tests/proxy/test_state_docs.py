"""The docs list every connection state the status page and ``/metrics`` show."""

from __future__ import annotations

import pytest

from proxy.connections.registry import ConnectionState
from tests.helpers import REPO


@pytest.mark.parametrize(("page", "where"), [("usage.md", "A connection's `state` is one of"),
                                             ("operations.md", "`ssl_proxy_connections_active`")])
def test_the_docs_name_every_connection_state(page, where):
    text = (REPO / "docs" / page).read_text()
    listed = text[text.index(where):].split("\n\n", 1)[0].split("\n|", 1)[0]
    assert [s.value for s in ConnectionState if f"`{s.value}`" not in listed] == []

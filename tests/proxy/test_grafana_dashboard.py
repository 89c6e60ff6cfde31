"""examples/grafana-dashboard.json asks only for what ``/metrics`` exports.

Every PromQL expression of the dashboard (its panels' queries and its
variables' ``label_values``) is read for metric names and for the labels it
groups and names series by; each metric must be one a running proxy (on the
emulator) exports, each label one of its series carries (or Prometheus's own
``instance`` and ``job``).  A metric renamed in the code fails here.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.helpers import REPO, round_trip, wait_until
from tests.proxy_helpers import address, connect, http_get, start_proxy, talk

DASHBOARD = REPO / "examples" / "grafana-dashboard.json"
FUNCTIONS = {"rate", "increase", "sum", "max", "min", "avg", "count", "label_values"}
"""PromQL functions and aggregations the dashboard may use; another fails the test
(add it here once it is known to be one)."""
SCRAPE_LABELS = {"instance", "job"}  # added by Prometheus to every series it scrapes


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(where, expression, legend) for every query and variable of ``dashboard``."""
    found = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            found.append((panel["title"], target["expr"], target.get("legendFormat", "")))
    for variable in dashboard["templating"]["list"]:
        query = variable["query"]
        found.append((f"${variable['name']}", query["query"] if isinstance(query, dict)
                      else query, ""))
    return found


def read_query(expr: str) -> tuple[set[str], set[str], set[str]]:
    """The metric names, the functions and the labels (grouped by, or named by
    ``label_values``) in one PromQL expression."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings ($variables in matchers too)
    text = re.sub(r"\{[^}]*\}", "", text)             # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)            # range selectors
    labels: set[str] = set()
    for grouped in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", text):
        labels.update(label.strip() for label in grouped.split(",") if label.strip())
    text = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", " ", text)
    named = re.search(r"label_values\((.*),\s*(\w+)\s*\)", text)
    if named:
        labels.add(named[2])
        text = text[:named.start()] + "label_values(" + named[1] + ")"
    metrics, functions = set(), set()
    for token in re.finditer(r"([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?", text):
        (functions if token[2] else metrics).add(token[1])
    return metrics, functions, labels


def exported(page: str) -> tuple[set[str], set[str]]:
    """The metric names a ``/metrics`` page declares, and every label its samples carry."""
    names = set(re.findall(r"^# TYPE (\S+) ", page, re.MULTILINE))
    labels = {label for block in re.findall(r"^\S+\{([^}]*)\}", page, re.MULTILINE)
              for label in re.findall(r'(\w+)="', block)}
    return names, labels


def test_the_query_reader_sees_metrics_functions_and_labels():
    metrics, functions, labels = read_query(
        'sum by (map, direction) (rate(ssl_proxy_bytes_total{instance=~"$instance", '
        'map!="a{b}"}[$__rate_interval])) / on (map) ssl_proxy_x')
    assert metrics == {"ssl_proxy_bytes_total", "ssl_proxy_x"}
    assert functions == {"sum", "rate"} and labels == {"map", "direction"}
    assert read_query('label_values(ssl_proxy_module_state{instance=~"$i"}, modem)') == (
        {"ssl_proxy_module_state"}, {"label_values"}, {"modem"})


async def test_every_query_names_metrics_and_labels_the_proxy_exports(
        emulator, echo_server, ca_file, nursery):
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file), "--status", "0",
                                "--map", f"0=echo.test:{echo_server.port}",
                                "--map", "0=nowhere.test:443", "--allow", "127.0.0.1")
    # An ended connection and a failed open, so that every labelled series has a sample.
    async with await connect(service, 0) as stream:
        assert await round_trip(stream, b"ping") == b"ping"
    assert (await talk(address(service, 1).port)).end == "reset"  # 565: no such name
    await wait_until(lambda: len(service.registry) == 0)
    status, body = await http_get(service.status_address, "/metrics")
    assert status == 200
    names, labels = exported(body.decode())
    dashboard = json.loads(DASHBOARD.read_text())
    found = queries(dashboard)
    assert len(found) > 20
    wrong = []
    for where, expr, legend in found:
        metrics, functions, grouped = read_query(expr)
        if not metrics:
            wrong.append(f"{where}: {expr!r} names no metric")
        wrong += [f"{where}: no metric {m!r}" for m in sorted(metrics - names)]
        wrong += [f"{where}: unknown function {f!r}" for f in sorted(functions - FUNCTIONS)]
        shown = grouped | set(re.findall(r"\{\{\s*(\w+)\s*\}\}", legend))
        wrong += [f"{where}: no label {label!r}"
                  for label in sorted(shown - labels - SCRAPE_LABELS)]
    assert wrong == []
    used = set().union(*(read_query(expr)[0] for _, expr, _ in found))
    assert "ssl_proxy_serial_busy_seconds_total" in used  # the line's busy share each way
    assert "ssl_proxy_clients_refused_total" in used

"""The benchmark's outputs: a Markdown table, the JSON records, a PNG plot."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .ppp_bound import bound_fields

COLUMNS = (
    ("scenario", "scenario", "{}"),
    ("line", "line", "{}"),
    ("access_mode", "mode", "{}"),
    ("proxy_goodput", "proxy B/s", "{:,.0f}"),
    ("transparent_goodput", "transparent B/s", "{:,.0f}"),
    ("ratio", "ratio", "{:.3f}"),
    ("proxy_share", "proxy / line", "{:.3f}"),
    ("ppp_share", "PPP bound / line", "{:.3f}"),
    ("ppp_ratio", "proxy / PPP", "{:.3f}"),
    ("fairness", "fairness", "{:.4f}"),
    ("median_ms", "median ms", "{:.1f}"),
    ("p95_ms", "p95 ms", "{:.1f}"),
    ("added_ms", "added ms", "{:.1f}"),
    ("added_target_ms", "added target ms", "{:.1f}"),
    ("added_rtts", "added RTTs", "{:.2f}"),
    ("down_share", "down / line", "{:.3f}"),
    ("up_share", "up / line", "{:.3f}"),
    ("mb_per_s", "MB/s", "{:.2f}"),
    ("cpu_s_per_mb", "CPU s/MB", "{:.3f}"),
    ("peak_rss_mb", "peak RSS MB", "{:.1f}"),
)


def line_label(record: dict[str, Any]) -> str:
    if not record["baud"]:
        label = f"unpaced/{record['latency_ms']:g}ms"
    else:
        label = f"{record['baud']}/{record['latency_ms']:g}ms"
    # Records from before the strict line model became the emulator's only one.
    return f"{label} bucket" if record.get("pacing") == "emulator" else label


def mode_label(record: dict[str, Any]) -> str:
    mode = record.get("access_mode", "buffer")
    label = f"{mode} (default)" if record.get("access_mode_default") else mode
    channels = record.get("channels")  # --channels given (None: the proxy's default)
    return label if channels is None else f"{label}, {channels}"


def with_bound(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with its PPP bound, also when it was saved before the bound was."""
    if "ppp_share" in record or "proxy_goodput" not in record:
        return record
    return {**record, **bound_fields(record["scenario"], record["baud"],
                                     record["proxy_goodput"])}


def markdown_table(records: list[dict[str, Any]]) -> str:
    rows = ["| " + " | ".join(title for _, title, _ in COLUMNS) + " |",
            "|" + "|".join("---" for _ in COLUMNS) + "|"]
    labels = {"line": line_label, "access_mode": mode_label}
    for record in map(with_bound, records):
        cells = []
        for key, _, fmt in COLUMNS:
            value = labels[key](record) if key in labels else record.get(key)
            cells.append("" if value is None else fmt.format(value))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def write_json(records: list[dict[str, Any]], path: Path, meta: dict[str, Any]) -> None:
    """A JSON list of records; ``meta`` (machine, command) goes into each as ``run``."""
    out = [{**record, "run": meta} for record in records]
    path.write_text(json.dumps(out, indent=1) + "\n")


def plot(records: list[dict[str, Any]], path: Path) -> bool:
    """Goodput as a share of line rate: transparent, then each access mode, side by side.

    One group of bars per scenario and line; the number over a proxy bar is
    its ratio to transparent mode; a black line over a group is the PPP bound
    (``ppp_bound``) in the same units.  False without matplotlib.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    paced = [with_bound(r) for r in records if r.get("proxy_share") is not None]
    if not paced:
        return False
    groups: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for r in paced:
        key = (r["scenario"], line_label(r))
        mode = r.get("access_mode", "buffer")
        groups.setdefault(key, {})[mode if r.get("channels") is None
                                   else f"{mode}, {r['channels']}"] = r
    modes = sorted({m for g in groups.values() for m in g}, key=_mode_order)
    colours = {"buffer": "#c63", "push": "#369"}
    width = 0.8 / (len(modes) + 1)
    fig, ax = plt.subplots(figsize=(max(8, 0.35 * len(groups) * (len(modes) + 1) + 2), 5))
    xs = list(range(len(groups)))
    ax.bar([x - 0.4 + width / 2 for x in xs],
           [next(iter(g.values()))["transparent_share"] for g in groups.values()], width,
           label="transparent mode (reference)", color="#9ab")
    for i, mode in enumerate(modes, start=1):
        x_mode = [x - 0.4 + width / 2 + i * width for x in xs]
        shares = [g[mode]["proxy_share"] if mode in g else 0.0 for g in groups.values()]
        ax.bar(x_mode, shares, width, label=f"ssl-proxy, {mode} mode",
               color=colours.get(mode, "#777"))
        for x, g in zip(x_mode, groups.values(), strict=True):
            if mode in g:
                ax.text(x, g[mode]["proxy_share"] + 0.01, f"{g[mode]['ratio']:.2f}",
                        ha="center", va="bottom", fontsize=6)
    labelled = False
    for x, g in zip(xs, groups.values(), strict=True):
        bound = next(iter(g.values())).get("ppp_share")
        if bound is not None:
            ax.hlines(bound, x - 0.45, x + 0.45, colors="black", linewidth=1.2,
                      label=None if labelled else "bound of PPP with TLS on the host")
            labelled = True
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{scenario}\n{line}" for scenario, line in groups], fontsize=7,
                       rotation=60, ha="right")
    ax.set_ylabel("goodput / line rate (8N1; duplex, mixed: both ways added)")
    top = max(max(r["proxy_share"], r["transparent_share"], r.get("ppp_share", 0))
              for r in paced)
    ax.set_ylim(0, max(1.22, top + 0.25))
    ax.axhline(1.0, color="grey", linewidth=0.5)
    ax.set_title("ssl-proxy vs transparent mode on the same emulated line "
                 "(numbers: proxy / transparent)", fontsize=9)
    ax.legend(loc="upper right", ncol=len(modes) + 2, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def _mode_order(mode: str) -> tuple[int, str]:
    return (0 if mode == "buffer" else 1, mode)


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.benchmarks.report RUN.json [...] [--plot PNG]``: table (and plot)
    again from saved records, several runs together."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.report")
    p.add_argument("runs", nargs="+", type=Path, help="JSON files written with --json")
    p.add_argument("--plot", type=Path, metavar="PNG")
    args = p.parse_args(argv)
    records = [record for path in args.runs for record in json.loads(path.read_text())]
    print(markdown_table(records))
    if args.plot and not plot(records, args.plot):
        print("no plot: matplotlib is not installed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The benchmark's outputs: a Markdown table, the JSON records, a PNG plot."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

COLUMNS = (
    ("scenario", "scenario", "{}"),
    ("line", "line", "{}"),
    ("proxy_goodput", "proxy B/s", "{:,.0f}"),
    ("transparent_goodput", "transparent B/s", "{:,.0f}"),
    ("ratio", "ratio", "{:.3f}"),
    ("proxy_share", "proxy / line", "{:.3f}"),
    ("fairness", "fairness", "{:.4f}"),
    ("median_ms", "median ms", "{:.1f}"),
    ("p95_ms", "p95 ms", "{:.1f}"),
    ("added_ms", "added ms", "{:.1f}"),
    ("added_target_ms", "added target ms", "{:.1f}"),
    ("mb_per_s", "MB/s", "{:.2f}"),
    ("cpu_s_per_mb", "CPU s/MB", "{:.3f}"),
    ("peak_rss_mb", "peak RSS MB", "{:.1f}"),
)


def line_label(record: dict[str, Any]) -> str:
    if not record["baud"]:
        label = f"unpaced/{record['latency_ms']:g}ms"
    else:
        label = f"{record['baud']}/{record['latency_ms']:g}ms"
    return f"{label} strict" if record.get("pacing") == "strict" else label


def markdown_table(records: list[dict[str, Any]]) -> str:
    rows = ["| " + " | ".join(title for _, title, _ in COLUMNS) + " |",
            "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for record in records:
        cells = []
        for key, _, fmt in COLUMNS:
            value = line_label(record) if key == "line" else record.get(key)
            cells.append("" if value is None else fmt.format(value))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def write_json(records: list[dict[str, Any]], path: Path, meta: dict[str, Any]) -> None:
    """A JSON list of records; ``meta`` (machine, command) goes into each as ``run``."""
    out = [{**record, "run": meta} for record in records]
    path.write_text(json.dumps(out, indent=1) + "\n")


def plot(records: list[dict[str, Any]], path: Path) -> bool:
    """Goodput as a share of line rate, proxy beside transparent; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    paced = [r for r in records if r.get("proxy_share") is not None]
    if not paced:
        return False
    labels = [f"{r['scenario']}\n{line_label(r)}" for r in paced]
    xs = range(len(paced))
    width = 0.4
    fig, ax = plt.subplots(figsize=(max(8, 0.7 * len(paced) + 2), 5))
    ax.bar([x - width / 2 for x in xs], [r["transparent_share"] for r in paced], width,
           label="transparent mode (reference)", color="#9ab")
    ax.bar([x + width / 2 for x in xs], [r["proxy_share"] for r in paced], width,
           label="ssl-proxy", color="#c63")
    for x, r in zip(xs, paced, strict=True):
        ax.text(x + width / 2, r["proxy_share"] + 0.01, f"{r['ratio']:.2f}",
                ha="center", va="bottom", fontsize=7)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels, fontsize=7, rotation=60, ha="right")
    ax.set_ylabel("goodput / line rate (8N1, one direction)")
    ax.set_ylim(0, 1.22)
    ax.axhline(1.0, color="grey", linewidth=0.5)
    ax.set_title("ssl-proxy vs transparent mode on the same emulated line "
                 "(numbers: proxy / transparent)", fontsize=9)
    ax.legend(loc="upper right", ncol=2, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


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

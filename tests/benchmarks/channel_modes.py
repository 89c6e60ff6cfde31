"""Which AT channels the benchmarked proxy runs on (``--channels``), and its flags.

With no ``--channels`` the benchmark passes no flag, so it measures the
proxy's default (records carry ``channels`` None).  ``ports`` needs the
emulator's ``usbmodem`` pty and the proxy finding it as the ``usbat``
port's sibling: the benchmark links both under by-id style names
(``...-if02-port0``, ``...-if03-port0``), as udev names a real module's.
Several channels run with ``--rtscts``: the proxy lends a channel for a
transparent session only on a line with flow control (the emulator's pty
has no RTS/CTS lines and takes the setting).
"""

from __future__ import annotations

from pathlib import Path

from .processes import EmulatorProcess

CHANNELS = ("single", "cmux", "ports", "auto")
TRANSPARENT_USES = ("always", "never", "auto")


def parse_channels(text: str) -> tuple[str, ...]:
    """``single,cmux,ports``: the proxy's ``--channels`` values to run, in order;
    ``cmux:1500`` runs cmux with ``--mux-n1 1500``; a ``/always`` (``/never``,
    ``/auto``) after either sets every map's ``transparent`` (a TOML key only,
    so that proxy runs from a settings file with ``[[map]]`` tables)."""
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if not _known(k)]
    if not kinds or unknown:
        raise ValueError(f"--channels takes {', '.join(CHANNELS)} (comma separated; "
                         f"cmux:N1 for a frame size), not {text!r}")
    return kinds


def _known(kind: str) -> bool:
    kind, _, use = kind.partition("/")
    name, _, n1 = kind.partition(":")
    return name in CHANNELS and (not n1 or (name in ("cmux", "auto") and n1.isdigit())) \
        and use in ("", *TRANSPARENT_USES)


def map_keys(kind: str | None) -> dict[str, str]:
    """The ``[[map]]`` keys ``kind`` sets (its ``/always`` part)."""
    use = (kind or "").partition("/")[2]
    return {"transparent": use} if use else {}


def emulator_args(kinds: tuple[str | None, ...]) -> tuple[str, ...]:
    """The emulator's flags for ``kinds``: its usbmodem port when one uses it."""
    names = {kind.partition("/")[0].partition(":")[0] for kind in kinds if kind}
    return ("--extra-port", "usbmodem") if {"ports", "auto"} & names else ()


def proxy_device(kind: str | None, emulator: EmulatorProcess, links: Path
                 ) -> tuple[str, tuple[str, ...]]:
    """The device the proxy opens for ``kind`` and its channel flags."""
    if kind is None:
        return emulator.device, ()
    kind, _, n1 = kind.partition("/")[0].partition(":")
    frames = ("--mux-n1", n1) if n1 else ()
    if kind != "single":
        frames = ("--rtscts", *frames)
    if kind not in ("ports", "auto") or "usbmodem" not in emulator.ports:
        return emulator.device, ("--channels", kind, *frames)
    first = links / "usb-Quectel_EC25_bench-if02-port0"
    second = links / "usb-Quectel_EC25_bench-if03-port0"
    for link, target in ((first, emulator.device), (second, emulator.ports["usbmodem"])):
        link.unlink(missing_ok=True)
        link.symlink_to(target)
    return str(first), ("--channels", kind, "--urc-port", "usbat", *frames)

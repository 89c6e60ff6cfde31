"""The SIM's PIN: from ``SSL_PROXY_SIM_PIN`` or ``--sim-pin-file``, never from a
flag's value (``ps`` shows those to every user of the host).

``sim_pin_from`` is called once at start (``build_config``, the doctor); the
PIN goes to ``ModemOptions.sim_pin`` as a ``SimPin``, whose ``repr`` hides it.
Mistakes are ``ConfigError`` lines that never quote what the file holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from modem.core.sim_pin import ENV_VAR, SimPin
from proxy.config.file_secrets import readable_warning
from proxy.errors import ConfigError

__all__ = ["ENV_VAR", "sim_pin_from"]


def sim_pin_from(path: Path | None, environ: Mapping[str, str]
                 ) -> tuple[SimPin | None, str | None]:
    """The PIN in ``path`` or ``environ[ENV_VAR]`` (None when neither gives one),
    and a warning when ``path`` is readable by others."""
    given = environ.get(ENV_VAR, "")
    if path is not None and given:
        raise ConfigError(f"--sim-pin-file and {ENV_VAR} both give a SIM PIN: keep one")
    if path is None:
        return (_pin(given.strip(), ENV_VAR) if given else None), None
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise ConfigError(f"--sim-pin-file {path}: {exc.strerror or exc}") from None
    pin = _pin(text.strip(), f"--sim-pin-file {path}")
    return pin, readable_warning(f"SIM PIN file {path} holds the PIN", path)


def _pin(text: str, where: str) -> SimPin:
    try:
        return SimPin(text)
    except ValueError:
        raise ConfigError(f"{where}: a SIM PIN is 4 to 8 digits, and this is not one") from None

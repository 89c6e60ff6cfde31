"""What the module verifies of each map's server, said plainly.

The module verifies the server's chain against the map's CA file.  Whether it
also checks the server certificate's *name* depends on the firmware: the
EC2x&EG9x&EM05 SSL manual has no such setting, some firmware has one
(``modem.core.commands.HOST_CHECK_SETTINGS``; the driver turns it on at bring-up,
``Modem.name_checked``).  Without it, a map that trusts the host's CA bundle
(no ``--cacert``) accepts any publicly trusted certificate for any name, so
anyone on the path with one can read the traffic: ``unchecked_bundle_maps``
finds those maps and ``warn_unchecked_names`` says so once per map at start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from modem.core.profile import TlsProfile
from proxy.config.build import Mapping
from proxy.logging_setup import kv

log = logging.getLogger("proxy.trust")

UNCHECKED_BUNDLE = (
    "server name not checked: this module accepts any certificate the host CA bundle "
    "trusts, for any name; give this map a --cacert holding only its server's CA "
    "(or a private CA)")


def trusts_host_bundle(mapping: Mapping) -> bool:
    """True when the map verifies its server against the host's whole CA bundle."""
    tls = mapping.effective_tls
    return not tls.insecure and tls.cacert is None


def unchecked_bundle_maps(maps: Iterable[Mapping], profiles: dict[Mapping, TlsProfile],
                          name_checked: Callable[[TlsProfile], bool]) -> list[Mapping]:
    """The maps that trust the host bundle and whose server name the module does
    not check."""
    return [m for m in maps if trusts_host_bundle(m) and not name_checked(profiles[m])]


def warn_unchecked_names(maps: Iterable[Mapping], profiles: dict[Mapping, TlsProfile],
                         name_checked: Callable[[TlsProfile], bool]) -> None:
    """One warning line per map that trusts the host bundle without a name check."""
    for mapping in unchecked_bundle_maps(maps, profiles, name_checked):
        log.warning(UNCHECKED_BUNDLE, extra=kv(map=str(mapping)))

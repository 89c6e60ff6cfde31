"""From the user's TLS settings to the driver's ``TlsProfile`` (manual 2.1.1).

The secure defaults live here: seclevel 1 (verify the server) unless
``--insecure`` (0), seclevel 2 when a client certificate is given; SNI for
host names (``Mapping.effective_tls`` turns it off for IP literals), and
the module's server host-name check wherever its firmware has one (the
same, for host names only).
"""

from __future__ import annotations

from pathlib import Path

from modem.core.profile import TlsProfile
from proxy.config.build import Mapping, ProxyConfig, TlsOptions
from proxy.config.certificates import TlsMaterial, host_ca_bundle, read_ca_file, read_client_pair


def load_all_material(config: ProxyConfig) -> dict[TlsOptions, TlsMaterial]:
    """Read and check every file the maps name, each file once; ``ConfigError`` if bad."""
    ca_cache: dict[Path, bytes] = {}
    pair_cache: dict[tuple[Path, Path], tuple[bytes, bytes]] = {}
    out: dict[TlsOptions, TlsMaterial] = {}
    for mapping in config.maps:
        tls = mapping.effective_tls
        if tls in out:
            continue
        cacert = None
        if not tls.insecure:
            if tls.cacert is not None:
                if tls.cacert not in ca_cache:
                    ca_cache[tls.cacert] = read_ca_file(tls.cacert)
                cacert = ca_cache[tls.cacert]
            else:
                bundle = host_ca_bundle()
                if bundle not in ca_cache:
                    ca_cache[bundle] = read_ca_file(bundle, "host CA bundle")
                cacert = ca_cache[bundle]
        clientcert = clientkey = None
        if tls.clientcert is not None and tls.clientkey is not None:
            key = (tls.clientcert, tls.clientkey)
            if key not in pair_cache:
                pair_cache[key] = read_client_pair(*key)
            clientcert, clientkey = pair_cache[key]
        out[tls] = TlsMaterial(cacert, clientcert, clientkey)
    return out


def profile_for(tls: TlsOptions, material: TlsMaterial) -> TlsProfile:
    """The module SSL context settings for one map."""
    if tls.insecure:
        seclevel = 0
    elif material.clientcert is not None:
        seclevel = 2
    else:
        seclevel = 1
    return TlsProfile(
        version=tls.version,
        ciphersuites=tls.ciphers,
        seclevel=seclevel,
        cacert=material.cacert,
        clientcert=material.clientcert,
        clientkey=material.clientkey,
        sni=tls.sni,
        negotiate_timeout=tls.negotiate_timeout,
        ignore_local_time=tls.ignore_local_time,
        check_host=tls.check_host and seclevel >= 1,
    )


def build_profiles(config: ProxyConfig, materials: dict[TlsOptions, TlsMaterial]
                   ) -> dict[Mapping, TlsProfile]:
    """Each map's profile; maps with the same settings share one (one SSL context)."""
    by_tls: dict[TlsOptions, TlsProfile] = {}
    out: dict[Mapping, TlsProfile] = {}
    for mapping in config.maps:
        tls = mapping.effective_tls
        if tls not in by_tls:
            by_tls[tls] = profile_for(tls, materials[tls])
        out[mapping] = by_tls[tls]
    return out

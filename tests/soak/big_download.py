"""``python -m tests.soak.big_download [--mib N]``: one peer sends N MiB (default 100).

A TLS source server sends N MiB of seeded random bytes through the proxy
(on the emulator, unpaced) to one local client that hashes them.  Prints the
size, whether every byte matched, how the stream ended, the time and the
process's RSS before and after: the proxy holds no more than a chunk per
connection, so memory must not grow with N.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import trio
import trustme

from proxy.config.build import build_config
from proxy.config.profiles import build_profiles, load_all_material
from proxy.service import ProxyService
from tests.helpers import TlsServer, source_data

from .process_stats import peak_rss_mb, rss_mb


async def run(mib: int) -> dict[str, object]:
    size = mib * 1024 * 1024
    ca = trustme.CA()
    with tempfile.TemporaryDirectory() as tmp:
        ca_path = Path(tmp) / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_path))
        expected = hashlib.sha256(source_data(size)).hexdigest()
        async with trio.open_nursery() as nursery:
            server = TlsServer(ca.issue_cert("source.test"), "source", source_bytes=size)
            await nursery.start(server.serve)
            config = build_config({"emulate": True, "cacert": str(ca_path),
                                   "map": [f"0=source.test:{server.port}"],
                                   "resolve": ["source.test=127.0.0.1"]})
            service = ProxyService(config, build_profiles(config, load_all_material(config)))
            await nursery.start(service.run)
            port = next(iter(service.listen_addresses.values())).port
            rss_before = rss_mb()
            digest = hashlib.sha256()
            received = 0
            end = "eof"
            started = time.monotonic()
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            try:
                while chunk := await stream.receive_some(65536):
                    digest.update(chunk)
                    received += len(chunk)
            except trio.BrokenResourceError as exc:
                end = f"reset ({exc.__cause__})"
            finally:
                await stream.aclose()
            took = time.monotonic() - started
            service.request_shutdown()
            with trio.move_on_after(30):
                await service.registry.wait_empty()
            nursery.cancel_scope.cancel()
    return {
        "mib": mib, "received": received, "intact": digest.hexdigest() == expected,
        "end": end, "seconds": round(took, 1),
        "mib_per_s": round(received / 1024 / 1024 / took, 2),
        "rss_before_mb": rss_before, "rss_after_mb": rss_mb(), "rss_peak_mb": peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.soak.big_download")
    p.add_argument("--mib", type=int, default=100)
    args = p.parse_args(argv)
    result = trio.run(run, args.mib)
    print(" ".join(f"{k}={v}" for k, v in result.items()))
    return 0 if result["intact"] and result["end"] == "eof" else 1


if __name__ == "__main__":
    sys.exit(main())

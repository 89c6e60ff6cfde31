"""Changing the TLS profiles of a serving module (a reload of the proxy's config).

At bring-up every profile gets an SSL context in order (``bringup.configure_contexts``).
A reload changes the set while sockets are open, so ``assign_contexts`` keeps
the context of every profile that stays (its open sockets and the opens in
flight keep their ``<SSL_ctxID>``) and gives new profiles the free ones; a
profile whose files changed is a new profile (``TlsProfile`` holds the file
contents), so its files are uploaded under their new hash names and a free
context is configured for it.  Sockets already open are not touched: the
module applies a context's settings when ``AT+QSSLOPEN`` runs (manual 2.1.2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from modem.bringup.steps import BringUpError, configure_context, upload_files
from modem.core.limits import SSL_CONTEXTS
from modem.core.profile import TlsProfile
from modem.link.channel import AtChannel


def assign_contexts(current: Mapping[TlsProfile, int], wanted: Sequence[TlsProfile]
                    ) -> dict[TlsProfile, int]:
    """Context ids for ``wanted``: kept where a profile already has one, else the
    lowest free id (0-5), ids no profile held before first.
    ``BringUpError`` when more than six are needed."""
    distinct = list(dict.fromkeys(wanted))
    out = {p: current[p] for p in distinct if p in current}
    # Ids nobody held first: a dropped profile's id is reused only when needed,
    # so a reload that fails half-way leaves the contexts in force intact.
    free = sorted((ctx for ctx in range(SSL_CONTEXTS) if ctx not in out.values()),
                  key=lambda ctx: ctx in current.values())
    for profile in distinct:
        if profile in out:
            continue
        if not free:
            raise BringUpError(f"more than {SSL_CONTEXTS} distinct TLS profiles: "
                               f"the module has {SSL_CONTEXTS} SSL contexts")
        out[profile] = free.pop(0)
    return out


async def apply_profiles(channel: AtChannel, current: Mapping[TlsProfile, int],
                         wanted: Sequence[TlsProfile], line_baud: int | None
                         ) -> dict[TlsProfile, int]:
    """Upload the files ``wanted`` needs, configure the contexts of the new
    profiles; the new assignment.  The files of the profiles in force stay
    too (so a reload that fails half-way leaves them whole); the next
    bring-up deletes the ones no profile needs."""
    contexts = assign_contexts(current, wanted)
    contents: list[bytes] = []
    for profile in [*current, *contexts]:
        contents.extend(c for c in profile.files().values() if c not in contents)
    files = await upload_files(channel, contents, line_baud)
    for profile, ctx in contexts.items():
        if current.get(profile) != ctx:
            await configure_context(channel, ctx, profile, files)
    return contexts

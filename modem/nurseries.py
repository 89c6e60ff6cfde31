"""Helpers for Trio's strict exception groups."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            out.extend(_leaves(exc))
        else:
            out.append(exc)
    return out


@contextmanager
def single_exception() -> Iterator[None]:
    """Re-raise a group that holds exactly one exception as that exception.

    A nursery wraps even a lone error in an ``ExceptionGroup``; callers of a
    context manager that owns a nursery want the error itself (a one-line
    ``ModemError``, a ``KeyboardInterrupt``).
    """
    try:
        yield
    except BaseExceptionGroup as group:
        leaves = _leaves(group)
        if len(leaves) == 1:
            raise leaves[0] from None
        raise

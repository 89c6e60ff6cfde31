"""Helpers for Trio's strict exception groups."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


def leaf_exceptions(exc: BaseException) -> list[BaseException]:
    """The exceptions inside ``exc``, however deeply grouped; ``[exc]`` for a plain one."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaf_exceptions(inner)]
    return [exc]


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
        leaves = leaf_exceptions(group)
        if len(leaves) == 1:
            raise leaves[0] from None
        raise

"""How a command handler declares itself: ``@commands.command(name, test=..., forms=...)``.

The declaration carries what every extended command shares, so handlers
hold only what is their own:

* the test form ``AT+CMD=?`` answers the declared lines and ``OK`` (no
  lines: a bare ``OK``), without calling the handler, unless the handler
  declares ``Form.TEST`` among its forms (an answer that depends on the
  emulated firmware);
* a form the command does not accept answers ``ERROR``;
* an accepted form calls ``handler(module, request)``, which returns the
  bytes to answer, or None when it has written its answer itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .request import Form, Request
from .responses import ERROR, info

if TYPE_CHECKING:
    from .module import Module

Handler = Callable[["Module", Request], Awaitable[bytes | None]]


@dataclass(frozen=True)
class CommandSpec:
    """One extended command: its handler, its test-form answer and the forms it takes."""

    name: str
    handler: Handler
    test: tuple[str, ...] = ()
    forms: frozenset[Form] = frozenset()

    async def answer(self, module: Module, request: Request) -> bytes | None:
        if request.form is Form.TEST and Form.TEST not in self.forms:
            return info(*self.test)
        if request.form not in self.forms:
            return ERROR
        return await self.handler(module, request)


class CommandTable(Mapping[str, CommandSpec]):
    """Command name (``"+QSSLOPEN"``) -> ``CommandSpec``, filled by the decorator."""

    def __init__(self, *tables: Mapping[str, CommandSpec]) -> None:
        self._specs: dict[str, CommandSpec] = {}
        for table in tables:
            for spec in table.values():
                self.add(spec)

    def add(self, spec: CommandSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"{spec.name} declared twice")
        self._specs[spec.name] = spec

    def command(
        self, *names: str, test: str | Iterable[str] = (), forms: Iterable[Form],
    ) -> Callable[[Handler], Handler]:
        """Register the decorated handler under each of ``names``."""
        lines = (test,) if isinstance(test, str) else tuple(test)

        def register(handler: Handler) -> Handler:
            for name in names:
                self.add(CommandSpec(name, handler, lines, frozenset(forms)))
            return handler

        return register

    def __getitem__(self, name: str) -> CommandSpec:
        return self._specs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

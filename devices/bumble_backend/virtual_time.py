"""An asyncio event loop whose clock is virtual: waiting costs no real time.

bumble's virtual controller runs on the event loop's timers (advertising intervals, ATT timeouts),
and bleak's scanner waits on ``asyncio.sleep``. Under :class:`VirtualTimeEventLoop` the loop's
``time()`` is simulated: whenever the loop has nothing ready to run, time jumps straight to the
next timer instead of blocking. A test of the whole BLE path therefore waits for adverts,
connections and timeouts exactly as in real life, in the same order, but instantly and
deterministically. Real I/O (sockets, pipes) still works: it is polled without blocking first.

Use :func:`run_virtual` like :func:`asyncio.run`.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")


class _VirtualSelector(selectors.DefaultSelector):  # type: ignore[misc, valid-type]
    """Polls real file descriptors without blocking; a timeout advances virtual time instead."""

    def __init__(self) -> None:
        super().__init__()
        self.now_s = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:  # nothing scheduled: only real I/O or another thread can wake us
            return super().select(None)
        self.now_s += max(0.0, timeout)
        return []


class VirtualTimeEventLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` only moves when the loop would otherwise wait."""

    def __init__(self) -> None:
        self._virtual_selector = _VirtualSelector()
        super().__init__(self._virtual_selector)

    def time(self) -> float:
        return self._virtual_selector.now_s


def run_virtual(main: Coroutine[Any, Any, _T]) -> _T:
    """Run ``main`` to completion on a fresh :class:`VirtualTimeEventLoop` (like ``asyncio.run``)."""
    with asyncio.Runner(loop_factory=VirtualTimeEventLoop) as runner:
        return runner.run(main)

"""Single key presses from the terminal, as an async iterator (space = marker, q = quit).

The terminal is put in cbreak mode (keys arrive without Enter, Ctrl-C still interrupts) and restored
on exit. When standard input is not a terminal there are no keys.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def terminal_keys() -> Iterator[AsyncIterator[str] | None]:
    if not sys.stdin.isatty():
        yield None
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    queue: asyncio.Queue[str] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def readable() -> None:
        try:
            data = os.read(fd, 32)
        except OSError:
            return
        for ch in data.decode(errors="ignore"):
            queue.put_nowait(ch)

    async def keys() -> AsyncIterator[str]:
        while True:
            yield await queue.get()

    tty.setcbreak(fd)
    loop.add_reader(fd, readable)
    try:
        yield keys()
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)

"""A helper process on the machine's other core: how one is started, and when it is worth it.

Used by :mod:`sessions.report_worker` (the report's figure) and :mod:`sessions.engine_worker` (a
session's engine as fast as possible). A helper is a child Python process started isolated
(``python -I -c``: no current directory, ``PYTHONPATH`` or user site on its path) with exactly this
process's module path, so that it imports the same modules and nothing else; it talks with its
parent through its standard input and output (pickled data, from its parent only): nothing leaves
the machine, no file is written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity where the system says, else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def start_helper(module: str, *, cores: int | None = None, stderr: int = subprocess.PIPE) -> subprocess.Popen[bytes] | None:
    """Start ``python -I -c "...; from MODULE import main; sys.exit(main())"`` with this process's
    module path and pipes for its standard input and output (and its standard error, unless
    ``stderr`` says otherwise: ``subprocess.DEVNULL`` for a helper whose error output no one reads);
    ``None`` when it cannot be started, or when this process may run on fewer than two CPU cores
    (``cores``, default: those it may use), where a second process would only add its start-up."""
    if cores is None:
        cores = usable_cores()
    if cores < 2 or not sys.executable:
        return None
    boot = f"import json, sys; sys.path[:] = json.loads(sys.argv[1]); from {module} import main; sys.exit(main())"
    path = json.dumps([p for p in sys.path if isinstance(p, str)])
    try:
        process = subprocess.Popen([sys.executable, "-I", "-c", boot, path],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
    except OSError:
        return None
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            _widen(pipe.fileno())
    return process


#: The pipes' size asked for (bytes; Linux allows an unprivileged process up to
#: ``/proc/sys/fs/pipe-max-size``, 1 MiB by default): an answer of the engine's helper that carries a
#: block's index chunks (~150 KB) does not fit in the default 64 KiB, and the helper would wait, in
#: the middle of writing it, for the session's reader thread (which needs the GIL) to take each part.
PIPE_BYTES = 1 << 20


def _widen(fd: int) -> None:
    """Ask for a pipe of :data:`PIPE_BYTES` (as much as the system allows; unchanged where it says no)."""
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if setsize is None:
        return
    try:
        fcntl.fcntl(fd, setsize, PIPE_BYTES)
    except OSError:  # above pipe-max-size, or over the user's pipe quota: the size the system gives
        try:
            fcntl.fcntl(fd, setsize, _max_pipe_bytes())
        except (OSError, ValueError):
            pass


def _max_pipe_bytes() -> int:
    with open("/proc/sys/fs/pipe-max-size", encoding="ascii") as f:
        return min(int(f.read()), PIPE_BYTES)

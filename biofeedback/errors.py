"""The exception tree shared by the three packages.

Every error the program reports to a user is a :class:`BiofeedbackError`. Its ``str()`` is a single
line that names what went wrong and where. The CLI prints that line (no traceback) and exits with
:attr:`BiofeedbackError.exit_status`: 2 for bad input from the user (a malformed file, a wrong flag,
an unknown session), 1 for failures of the environment (no Bluetooth adapter, a device that went
away). Lower-level exceptions are translated at the package boundary with ``raise ... from exc``.
"""

from __future__ import annotations

from pathlib import Path


class BiofeedbackError(Exception):
    """Base of every error this program reports. Exit status 1."""

    exit_status = 1


class InputError(BiofeedbackError, ValueError):
    """Bad input from the user: a file, a flag, an identifier. Exit status 2.

    ``path`` and ``line`` (1-based) say where, when known; the message reads ``path:line: problem``.
    """

    exit_status = 2

    def __init__(self, problem: str, *, path: str | Path | None = None, line: int | None = None):
        self.problem = problem
        self.path = None if path is None else str(path)
        self.line = line
        where = ""
        if self.path is not None:
            where = self.path + (f":{line}" if line is not None else "") + ": "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(where + problem)

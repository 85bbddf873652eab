"""Options and parsers shared by several commands (standard library only: keeps --help fast)."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from biofeedback.errors import InputError

HOME_ENV = "BIOFEEDBACK_HOME"
#: The RR-file formats `import` and `analyze` read (sessions.importers.FORMATS; kept here so --help
#: needs no import of the readers; a test keeps the two in step).
FORMAT_NAMES = ("plain", "csv", "kubios", "polar-sensor-logger", "hrv-logger", "elite-hrv", "time-rr")
BLE_TRANSPORT_ENV = "BIOFEEDBACK_BLE_TRANSPORT"
#: The language of what the commands print when --lang is not given (en or nl).
LANG_ENV = "BIOFEEDBACK_LANG"
#: The languages of the output (biofeedback.practices.texts.LANGS; kept here so --help needs no
#: import of the texts; a test keeps the two in step).
LANG_NAMES = ("en", "nl")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?\s*$")
#: The longest duration any flag takes (a day-long recording's window is far below it).
MAX_DURATION_S = 7 * 24 * 3600.0


def parse_duration_s(text: str) -> float:
    """One duration grammar for every duration flag: a number with a unit, ``ms``, ``s``, ``m``,
    ``min`` or ``h`` (``"90s"`` -> 90.0, ``"2m"`` -> 120.0, ``"1.5h"`` -> 5400.0).

    A bare number is refused with a hint (is ``10`` ten seconds or ten minutes?), except ``0``,
    which means the same in every unit (a skipped phase). Negative, non-numeric and longer than a
    week are refused. (``demo --minutes`` is not a duration flag: its name says the unit.)
    """
    m = _DURATION.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use a number with a unit, e.g. 90s, 2m, 1h)")
    value = float(m.group(1))
    unit = m.group(2)
    if unit is None:
        if value == 0:
            return 0.0
        raise argparse.ArgumentTypeError(
            f"a duration needs a unit: {text.strip()!r} is ambiguous (write {m.group(1)}s, {m.group(1)}m or {m.group(1)}h)")
    seconds = value * {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}[unit]
    if seconds > MAX_DURATION_S:
        raise argparse.ArgumentTypeError(f"duration {text.strip()!r} is longer than a week")
    return seconds


def parse_beat_range(text: str) -> tuple[int, int]:
    """``"4-16"`` -> (4, 16): an inclusive range of box sizes in beats, 3 <= N < M (DFA options)."""
    parts = text.strip().split("-")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"not a beat range: {text!r} (use N-M, e.g. 4-16)")
    lo, hi = int(parts[0]), int(parts[1])
    if not 3 <= lo < hi:
        raise argparse.ArgumentTypeError(f"beat range {text!r} needs 3 <= N < M")
    return lo, hi


def parse_speed(text: str) -> float:
    """``--speed X|max``: a positive factor, or ``max`` (returned as ``float('inf')``)."""
    if text.strip().lower() == "max":
        return float("inf")
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a speed: {text!r} (use a number > 0 or 'max')") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"speed must be > 0 or 'max', got {text!r}")
    return value


def add_home_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--home",
        metavar="DIR",
        default=None,
        help=f"where sessions are stored (default: ${HOME_ENV}, else the platform's user data directory)",
    )


def add_ble_transport_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ble-transport",
        metavar="SPEC",
        default=None,
        help=(
            "Bluetooth stack: omit for the operating system's (via bleak); or a bumble transport such as "
            f"usb:0 or tcp-client:127.0.0.1:9000 (default: ${BLE_TRANSPORT_ENV})"
        ),
    )


def add_lang_option(parser: argparse.ArgumentParser, what: str = "of what is printed") -> None:
    """``--lang en|nl``, defaulting to ``$BIOFEEDBACK_LANG``, else English (read with :func:`resolve_lang`)."""
    parser.add_argument(
        "--lang",
        choices=LANG_NAMES,
        default=None,
        help=f"language {what}: en or nl (default: ${LANG_ENV} when set, else en)",
    )


def resolve_lang(args: argparse.Namespace) -> str:
    """The language of the output: ``--lang``, else ``$BIOFEEDBACK_LANG``, else ``en``. An unknown
    language in the environment is refused (exit 2, one line)."""
    from biofeedback.practices.texts import DEFAULT_LANG, check_lang

    lang = getattr(args, "lang", None) or os.environ.get(LANG_ENV) or DEFAULT_LANG
    try:
        return check_lang(lang)
    except InputError as exc:
        raise InputError(f"{LANG_ENV}: {exc.problem}") from None


def resolve_ble_transport(args: argparse.Namespace) -> str | None:
    return getattr(args, "ble_transport", None) or os.environ.get(BLE_TRANSPORT_ENV) or None


def resolve_strap(device: str | None, home: Path) -> str | None:
    """Which strap a session uses: ``device`` (``--device``, a name or an address), else the default
    strap remembered by ``biofeedback pair`` in ``home``, else ``None`` (the first heart-rate device
    heard). A damaged remembered-devices file is refused (exit 2, naming it)."""
    if device is not None:
        return device
    from devices.paired import default_device

    remembered = default_device(home)
    return remembered.address if remembered is not None else None


def resolve_home(args: argparse.Namespace) -> Path:
    """The data directory: ``--home``, else ``$BIOFEEDBACK_HOME``, else platformdirs' user data dir."""
    home = getattr(args, "home", None) or os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("biofeedback", appauthor=False))


def require_file(path: str) -> Path:
    """``path`` if it is an existing regular file; a FIFO, a device or a directory is refused (exit 2)
    before anything is read."""
    from biofeedback.files import check_regular

    return check_regular(path)


def open_existing_store(args: argparse.Namespace, *, readonly: bool = True):  # type: ignore[no-untyped-def]
    """The store of ``--home`` for commands that only read (``readonly``: nothing in it is written)
    or change (``delete``) recorded sessions.

    Raises :class:`InputError` (exit 2, one line) when nothing was recorded there yet: reading
    commands never create a store.
    """
    from sessions.store import Store, db_path

    home = resolve_home(args)
    store = Store.open_existing(home, readonly=readonly)
    if store is None:
        raise InputError(f"no sessions recorded yet (no store at {db_path(home)})")
    return store


#: From this many beats on, long work (a report, a replay at full speed) shows a progress bar.
PROGRESS_MIN_BEATS = 20_000


@contextlib.contextmanager
def progress_bar(n_beats: int, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr for long work (>= :data:`PROGRESS_MIN_BEATS` beats, stderr a
    terminal); yields ``progress(done, total)``, or ``None`` when no bar is shown."""
    if n_beats < PROGRESS_MIN_BEATS or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn(label), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=n_beats)
        yield lambda done, total: bar.update(task, completed=done, total=total)

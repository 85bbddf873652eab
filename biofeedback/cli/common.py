"""Options and parsers shared by several commands (standard library only: keeps --help fast)."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from biofeedback.errors import InputError

HOME_ENV = "BIOFEEDBACK_HOME"
BLE_TRANSPORT_ENV = "BIOFEEDBACK_BLE_TRANSPORT"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?\s*$")


def parse_duration_s(text: str) -> float:
    """``"90s"`` -> 90.0, ``"2m"`` -> 120.0, ``"1.5h"`` -> 5400.0, a bare number is seconds; 0 allowed."""
    m = _DURATION.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use e.g. 90s, 2m, 1h)")
    value = float(m.group(1))
    unit = m.group(2) or "s"
    return value * {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}[unit]


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


def resolve_ble_transport(args: argparse.Namespace) -> str | None:
    return getattr(args, "ble_transport", None) or os.environ.get(BLE_TRANSPORT_ENV) or None


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

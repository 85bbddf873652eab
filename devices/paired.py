"""Remembered heart-rate straps: ``<home>/devices.json`` (file 0600, directory 0700).

Format (version 1)::

    {"version": 1,
     "default": "F0:10:20:30:40:50",
     "devices": [{"name": "Polar H10 V1RTU4L", "address": "F0:10:20:30:40:50"}]}

"Pairing" here means remembering which strap to use by default, not Bluetooth bonding: heart-rate
straps need no bond (see docs/ble.md). Writes go to a private temporary file that replaces the
old one, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from biofeedback.errors import InputError
from biofeedback.files import write_private_atomically

FILENAME = "devices.json"
VERSION = 1


@dataclass(frozen=True, slots=True)
class PairedDevice:
    name: str | None
    address: str
    is_default: bool = False

    def to_json_dict(self) -> dict[str, object]:
        return {"name": self.name, "address": self.address, "default": self.is_default}


def devices_path(home: Path) -> Path:
    return Path(home) / FILENAME


def load_paired(home: Path) -> list[PairedDevice]:
    """The remembered devices, default first then in the order paired; ``[]`` when none."""
    path = devices_path(home)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    try:
        data = json.loads(text)
        default = data.get("default")
        entries = data["devices"]
        devices = [
            PairedDevice(name=e.get("name"), address=str(e["address"]), is_default=e["address"] == default)
            for e in entries
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"not a remembered-devices file ({type(exc).__name__}: {exc})", path=path) from exc
    return sorted(devices, key=lambda d: not d.is_default)


def default_device(home: Path) -> PairedDevice | None:
    return next((d for d in load_paired(home) if d.is_default), None)


def remember(home: Path, name: str | None, address: str, *, make_default: bool = True) -> PairedDevice:
    """Add (or update the name of) ``address``; make it the default unless told otherwise."""
    devices = load_paired(home)
    same = [d.address.upper() == address.upper() for d in devices]
    old_default = next((d.address for d in devices if d.is_default), None)
    if make_default or (any(same) and old_default is not None and old_default.upper() == address.upper()):
        default: str | None = address
    else:
        default = old_default
    new = PairedDevice(name=name, address=address, is_default=default == address)
    others = [d for d, s in zip(devices, same) if not s]
    if make_default:
        ordered = [new, *others]
    elif any(same):
        ordered = [new if s else d for d, s in zip(devices, same)]
    else:
        ordered = [*devices, new]
    _write(home, default, ordered)
    return new


def _write(home: Path, default: str | None, devices: list[PairedDevice]) -> None:
    home = Path(home)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    payload = {
        "version": VERSION,
        "default": default,
        "devices": [{"name": d.name, "address": d.address} for d in devices],
    }
    with write_private_atomically(devices_path(home)) as f:
        json.dump(payload, f, indent=2)
        f.write("\n")

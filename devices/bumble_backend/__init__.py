"""A bleak backend on the bumble Bluetooth host stack.

Use it through bleak's public API, with a :class:`BumbleStack` as the extra keyword argument
that bleak 3.1 forwards to its backends::

    stack = BumbleStack(transport="usb:0")          # or BumbleStack(link=LocalLink())
    scanner = BleakScanner(backend=BumbleScanner, bumble_stack=stack)
    client = BleakClient(device, backend=BumbleClient, bumble_stack=stack)
    ...
    await stack.aclose()                            # whoever made the stack closes it

:class:`BumbleBackend` groups the two backend classes (``BumbleBackend.scanner`` /
``BumbleBackend.client``), which is what :func:`devices.ble_stack.ble_backend_for` returns.
Importing this package imports bleak and bumble; nothing else in :mod:`devices` does so at import.
"""

from __future__ import annotations

from devices.bumble_backend.client import BumbleClient
from devices.bumble_backend.scanner import BumbleScanner
from devices.bumble_backend.stack import BumbleStack


class BumbleBackend:
    """The bumble backend's bleak classes: pass ``scanner`` to ``BleakScanner(backend=...)``,
    ``client`` to ``BleakClient(backend=...)``."""

    scanner = BumbleScanner
    client = BumbleClient


__all__ = ["BumbleBackend", "BumbleClient", "BumbleScanner", "BumbleStack"]

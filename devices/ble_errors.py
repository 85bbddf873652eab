"""bleak-side exceptions raised by this package's own BLE backend (kept apart from
:mod:`devices.ble_strap`, which translates them, so the bumble backend raising them does not import
the strap)."""

from __future__ import annotations

from bleak.exc import BleakError

__all__ = ["TransportOpenError"]


class TransportOpenError(BleakError):
    """The bumble transport ``spec`` (a ``--ble-transport`` value) could not be opened (raised by
    :mod:`devices.bumble_backend` under bleak's API, hence a :class:`~bleak.exc.BleakError`), with
    the spec and the underlying ``cause`` as attributes."""

    def __init__(self, spec: str, cause: BaseException):
        self.spec = spec
        self.cause = cause
        super().__init__(f"cannot open Bluetooth transport {spec!r}: {type(cause).__name__}: {cause}")

"""Exceptions of the ``devices`` package (all are :class:`biofeedback.errors.BiofeedbackError`)."""

from __future__ import annotations

from biofeedback.errors import BiofeedbackError, InputError


class DeviceError(BiofeedbackError):
    """A heart-rate source failed (adapter missing, connection refused...). Exit status 1."""


class PayloadError(DeviceError, ValueError):
    """A Heart Rate Measurement payload could not be parsed.

    ``payload`` holds the exact bytes received, so the fault can be logged and reproduced.
    """

    def __init__(self, problem: str, payload: bytes):
        self.payload = bytes(payload)
        self.problem = problem
        super().__init__(f"malformed Heart Rate Measurement payload {self.payload.hex(' ') or '(empty)'}: {problem}")


class DeviceNotFoundError(DeviceError):
    """No heart-rate device matched ``identifier`` (a name or an address)."""

    def __init__(self, identifier: str, detail: str = ""):
        self.identifier = identifier
        super().__init__(f"no heart-rate device {identifier!r} found" + (f": {detail}" if detail else ""))


class TransportSpecError(InputError):
    """A ``--ble-transport`` / ``BIOFEEDBACK_BLE_TRANSPORT`` value that is not a usable transport."""

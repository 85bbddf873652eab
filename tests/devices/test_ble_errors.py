"""bleak's exceptions become one line at the device edge, decided by type and attributes (bleak 3:
``bleak.exc``), not by message text."""

from __future__ import annotations

import asyncio
import socket

import pytest
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
)

from devices.ble_stack import ble_backend_for, close_backend
from devices.ble_strap import NO_ADAPTER_HINT, TransportOpenError, discover_heart_rate_devices, translate_bleak_error
from devices.errors import DeviceError, DeviceNotFoundError

HINT = NO_ADAPTER_HINT.split("(")[0]  # "no Bluetooth adapter found "


def test_bluetooth_not_available_says_no_adapter_and_why() -> None:
    exc = BleakBluetoothNotAvailableError("No powered Bluetooth adapters found. Turn on Bluetooth and try again.",
                                          BleakBluetoothNotAvailableReason.POWERED_OFF)
    err = translate_bleak_error(exc, "scan failed")
    assert type(err) is DeviceError and str(err).startswith(HINT)
    assert "powered_off" in str(err) and "--ble-transport" in str(err)


def test_dbus_errors_by_their_name() -> None:
    no_bluez = BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", ["The name org.bluez was not provided"])
    assert str(translate_bleak_error(no_bluez, "scan failed")).startswith(HINT)
    busy = BleakDBusError("org.bluez.Error.InProgress", ["Operation already in progress"])
    assert str(translate_bleak_error(busy, "scan failed")) == "scan failed: [org.bluez.Error.InProgress] Operation already in progress"


def test_the_message_text_decides_nothing() -> None:
    # a plain BleakError that happens to say "adapter" is not taken for a missing adapter
    err = translate_bleak_error(BleakError("the adapter said no"), "connecting to X failed")
    assert str(err) == "connecting to X failed: the adapter said no"


def test_device_not_found_keeps_its_identifier() -> None:
    err = translate_bleak_error(BleakDeviceNotFoundError("F0:10:20:30:40:50", "gone"), "connect")
    assert isinstance(err, DeviceNotFoundError) and err.identifier == "F0:10:20:30:40:50"
    assert translate_bleak_error(BleakDeviceNotFoundError("AA"), "connect", "Polar H10").identifier == "Polar H10"  # type: ignore[attr-defined]


def test_no_dbus_socket_means_the_bluetooth_service_is_not_reachable() -> None:
    err = translate_bleak_error(FileNotFoundError(2, "No such file or directory"), "scan failed")
    assert str(err).startswith(HINT) and "the Bluetooth service is not reachable" in str(err)


def test_a_bumble_transport_that_cannot_be_opened_is_named_not_taken_for_a_missing_adapter() -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend, kwargs = ble_backend_for(f"tcp-client:127.0.0.1:{port}")

    async def main() -> None:
        try:
            await discover_heart_rate_devices(0.5, backend=backend, backend_kwargs=kwargs)
        finally:
            await close_backend(kwargs)

    with pytest.raises(DeviceError) as info:
        asyncio.run(main())
    assert str(info.value).startswith(f"scan failed: cannot open Bluetooth transport 'tcp-client:127.0.0.1:{port}'")
    assert isinstance(info.value.__cause__, TransportOpenError) and info.value.__cause__.spec == f"tcp-client:127.0.0.1:{port}"

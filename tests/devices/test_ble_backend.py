"""The bumble backend seen through bleak's public API only (BleakScanner / BleakClient)."""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bumble.link import LocalLink

from devices.ble_stack import ble_backend_on_link, close_backend
from devices.bumble_backend.virtual_time import run_virtual
from devices.virtual_strap import VirtualStrap, heart_rate_payload

pytestmark = pytest.mark.ble

HR = "0000180d-0000-1000-8000-00805f9b34fb"
BATTERY = "0000180f-0000-1000-8000-00805f9b34fb"


def test_advertisements_become_bleak_devices_with_deduplicated_service_uuids() -> None:
    async def main() -> None:
        link = LocalLink()
        async with VirtualStrap(link), VirtualStrap(link, name="Lamp", address="F0:00:00:00:00:02", heart_rate=False):
            backend, kwargs = ble_backend_on_link(link)
            try:
                found = await BleakScanner.discover(1.0, return_adv=True, backend=backend.scanner, **kwargs)
                only_hr = await BleakScanner.discover(
                    1.0, return_adv=True, service_uuids=[HR], backend=backend.scanner, **kwargs
                )
            finally:
                await close_backend(kwargs)
        device, adv = found["F0:10:20:30:40:50"]
        assert device.name == adv.local_name == "Polar H10 V1RTU4L"
        # bumble's virtual controller repeats the advertising data as scan response: no duplicates here
        assert adv.service_uuids == [HR, BATTERY]
        assert isinstance(adv.rssi, int) and adv.rssi < 0
        assert found["F0:00:00:00:00:02"][1].service_uuids == [BATTERY]
        assert list(only_hr) == ["F0:10:20:30:40:50"]

    run_virtual(main())


def test_gatt_table_handles_reads_and_notifications() -> None:
    async def main() -> None:
        link = LocalLink()
        async with VirtualStrap(link) as strap:
            backend, kwargs = ble_backend_on_link(link)
            calls: list[str] = []
            try:
                device = await BleakScanner.find_device_by_address(
                    "f0:10:20:30:40:50", timeout=5.0, backend=backend.scanner, **kwargs
                )
                assert device is not None
                client = BleakClient(device, lambda c: calls.append("lost"), backend=backend.client, timeout=5.0, **kwargs)
                await client.connect()
                assert client.is_connected and client.mtu_size >= 23
                hrm = client.services.get_characteristic("2a37")
                assert hrm is not None and hrm.properties == ["notify"]
                # BlueZ numbering: the declaration handle, one below the value handle the CCCD follows
                cccd = hrm.get_descriptor("2902")
                assert cccd is not None and cccd.handle == hrm.handle + 2
                assert client.services.get_service(HR).handle == hrm.handle - 1
                battery = client.services.get_characteristic("2a19")
                assert await client.read_gatt_char(battery.handle) == bytearray([87])
                assert await client.read_gatt_char("2a29") == bytearray(b"Polar Electro Oy")
                received: list[bytes] = []
                got_two = asyncio.Event()

                def on_hrm(_char: object, data: bytearray) -> None:
                    received.append(bytes(data))
                    if len(received) == 2:
                        got_two.set()

                assert not await strap.notify(heart_rate_payload(60, [1024]))  # before the CCCD write: lost
                await client.start_notify(hrm, on_hrm)
                await strap.notify(heart_rate_payload(61, [1000, 1010]))
                await strap.notify(b"\x10")
                async with asyncio.timeout(10):
                    await got_two.wait()
                assert received == [heart_rate_payload(61, [1000, 1010]), b"\x10"]
                await client.stop_notify(hrm)
                assert strap.subscription_log == [True, False]
                await client.disconnect()
                assert not client.is_connected
                assert calls == []  # a requested disconnect is not reported as a loss
                with pytest.raises(BleakError, match="Not connected"):
                    await client.read_gatt_char(battery)
            finally:
                await close_backend(kwargs)

    run_virtual(main())


def test_unsolicited_disconnect_calls_back_and_a_silent_device_is_not_found() -> None:
    async def main() -> None:
        link = LocalLink()
        async with VirtualStrap(link) as strap:
            backend, kwargs = ble_backend_on_link(link)
            lost = asyncio.Event()
            try:
                client = BleakClient(
                    "F0:10:20:30:40:50", lambda c: lost.set(), backend=backend.client, timeout=5.0, **kwargs
                )
                await client.connect()
                await strap.go_out_of_range()
                async with asyncio.timeout(10):
                    await lost.wait()
                assert not client.is_connected
                loop = asyncio.get_running_loop()
                started = loop.time()
                with pytest.raises(BleakDeviceNotFoundError):
                    await client.connect()  # not advertising: bounded by the client's timeout
                assert loop.time() - started == pytest.approx(5.0, abs=0.2)
                strap.come_back()
                await client.connect()
                assert client.is_connected
            finally:
                await close_backend(kwargs)

    run_virtual(main())

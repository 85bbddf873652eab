"""bleak scanner backend on a bumble host: advertisements -> ``BLEDevice`` + ``AdvertisementData``."""

from __future__ import annotations

import uuid as uuid_module
from typing import Any, Literal

from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.uuids import normalize_uuid_str
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement

from devices.bumble_backend.stack import BumbleStack, format_address


def bleak_uuid(uuid: UUID) -> str:
    """A bumble UUID as bleak writes it: 128-bit, lower case (``0000180d-0000-1000-8000-00805f9b34fb``)."""
    raw = bytes(reversed(uuid.uuid_bytes)).hex()
    if len(raw) in (4, 8):
        return normalize_uuid_str(raw)
    return str(uuid_module.UUID(hex=raw))


def advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    """Translate one bumble advertisement (advertising data merged with its scan response).

    bumble's virtual controller sends the advertising data again as the scan response, so lists
    (service UUIDs) arrive twice: they are de-duplicated, keeping the first-seen order.
    """
    data = advertisement.data
    service_uuids: list[str] = []
    for uuid_list in data.get_all(AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS) + data.get_all(
        AdvertisingData.Type.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS
    ) + data.get_all(AdvertisingData.Type.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS) + data.get_all(
        AdvertisingData.Type.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS
    ) + data.get_all(AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS) + data.get_all(
        AdvertisingData.Type.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS
    ):
        for uuid in uuid_list:  # type: ignore[union-attr]
            text = bleak_uuid(uuid)
            if text not in service_uuids:
                service_uuids.append(text)

    manufacturer_data: dict[int, bytes] = {}
    for raw in data.get_all(AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA, raw=True):
        if len(raw) >= 2:
            manufacturer_data[int.from_bytes(raw[:2], "little")] = bytes(raw[2:])

    service_data: dict[str, bytes] = {}
    for ad_type, width in (
        (AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID, 2),
        (AdvertisingData.Type.SERVICE_DATA_32_BIT_UUID, 4),
        (AdvertisingData.Type.SERVICE_DATA_128_BIT_UUID, 16),
    ):
        for raw in data.get_all(ad_type, raw=True):
            if len(raw) >= width:
                service_data[bleak_uuid(UUID.from_bytes(bytes(raw[:width])))] = bytes(raw[width:])

    local_name = None
    for name_type in (AdvertisingData.Type.COMPLETE_LOCAL_NAME, AdvertisingData.Type.SHORTENED_LOCAL_NAME):
        raw_name = data.get(name_type, raw=True)
        if raw_name:
            local_name = bytes(raw_name).decode("utf-8", errors="replace")
            break

    tx_power_raw = data.get(AdvertisingData.Type.TX_POWER_LEVEL, raw=True)
    tx_power = int.from_bytes(tx_power_raw[:1], "little", signed=True) if tx_power_raw else None

    return AdvertisementData(
        local_name=local_name,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=service_uuids,
        tx_power=tx_power,
        rssi=int(advertisement.rssi),
        platform_data=(advertisement,),
    )


class BumbleScanner(BaseBleakScanner):
    """``BleakScanner(backend=BumbleScanner, bumble_stack=stack)``."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        *,
        bumble_stack: BumbleStack,
        **kwargs: Any,  # bluez=, cb=: other platforms' options, ignored here
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        if not isinstance(bumble_stack, BumbleStack):
            raise TypeError("BumbleScanner needs bumble_stack=BumbleStack(...)")
        self._stack = bumble_stack
        self._active = scanning_mode != "passive"
        self._unregister: Any = None

    async def start(self) -> None:
        self.seen_devices = {}
        self._unregister = self._stack.add_listener(self._on_advertisement)
        try:
            await self._stack.start_scanning(active=self._active)
        except BaseException:
            self._unregister()
            self._unregister = None
            raise

    async def stop(self) -> None:
        if self._unregister is not None:
            self._unregister()
            self._unregister = None
            await self._stack.stop_scanning()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        adv = advertisement_data(advertisement)
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        key = format_address(advertisement.address)
        previous = self.seen_devices.get(key)
        # A later advert without a name (no scan response this time) keeps the name seen before.
        name = adv.local_name or (previous[0].name if previous else None)
        device = self.create_or_update_device(key, key, name, advertisement.address, adv)
        self.call_detection_callbacks(device, adv)

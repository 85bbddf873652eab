"""bleak client backend on a bumble host: connect, GATT discovery, reads, writes, notifications.

Handles follow bleak's BlueZ backend: a characteristic is numbered by its *declaration* handle
(its value handle - 1, as bumble's GATT server lays attributes out), services by their
declaration handle and descriptors by their own handle, so the numbers a user sees are the
same as on Linux. bumble errors are translated here into bleak's exceptions (``BleakError``,
``BleakGATTProtocolError``, ``BleakDeviceNotFoundError``) so callers only handle bleak's.

Known limits of bumble 0.0.236's virtual controller that shape :meth:`BumbleClient.connect`:
it acknowledges "LE Create Connection Cancel" without cancelling, so a connection attempt is only
started once the peer has been heard advertising *after* ``connect()`` was called (a pending
connection then completes on its next advert); the wait for that advert is bounded by
``timeout`` and is safe to abandon, unlike a pending connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from typing import Any

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core, hci
from bumble.device import Connection, Peer

from devices.bumble_backend.scanner import bleak_uuid
from devices.bumble_backend.stack import BumbleStack

logger = logging.getLogger(__name__)


class BumbleClient(BaseBleakClient):
    """``BleakClient(address_or_device, backend=BumbleClient, bumble_stack=stack)``."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 30.0,
        services: set[str] | None = None,
        bumble_stack: BumbleStack,
        **kwargs: Any,  # bluez=, winrt=: other platforms' options, ignored here
    ) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        if not isinstance(bumble_stack, BumbleStack):
            raise TypeError("BumbleClient needs bumble_stack=BumbleStack(...)")
        self._stack = bumble_stack
        self.address = self.address.upper()
        self._device_name = address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        self._service_filter = services
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._disconnecting = False
        self._subscribers: dict[int, Callable[[bytes], None]] = {}
        #: HCI reason code of the last disconnection (e.g. 0x08 connection timeout), for diagnostics.
        self.last_disconnect_reason: int | None = None

    @property
    def name(self) -> str:
        return self._device_name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else att.ATT_DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    # Connectivity

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self.is_connected:
            return
        device = await self._stack.open()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                # a fresh advert, heard after this call began: the peer is there right now
                peer_address = await self._stack.wait_advertising(self.address, since_s=loop.time())
        except TimeoutError:
            raise BleakDeviceNotFoundError(
                self.address, f"device {self.address} not advertising (waited {self._timeout:g} s)"
            ) from None
        try:
            async with asyncio.timeout(self._timeout):
                connection = await device.connect(peer_address, timeout=None)
        except TimeoutError:
            # Real controllers cancel the pending connection; bumble's virtual one ignores the cancel
            # (see the module docstring), which is why we only got here after a fresh advert.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await device.send_sync_command(hci.HCI_LE_Create_Connection_Cancel_Command())
            raise BleakError(f"connection to {self.address} timed out after {self._timeout:g} s") from None
        except core.BaseBumbleError as exc:
            raise BleakError(f"connection to {self.address} failed: {exc}") from exc

        self._connection = connection
        self.last_disconnect_reason = None
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        try:
            async with asyncio.timeout(self._timeout):
                with _translated("service discovery", self):
                    self.services = await self._discover()
        except BaseException:
            await self._drop()
            raise
        if pair:
            logger.info("pairing is not supported by the bumble backend; connected without pairing")

    async def _discover(self) -> BleakGATTServiceCollection:
        assert self._connection is not None
        peer = Peer(self._connection)
        self._peer = peer
        collection = BleakGATTServiceCollection()
        await peer.discover_services()
        for service_proxy in peer.services:
            uuid = bleak_uuid(service_proxy.uuid)
            if self._service_filter is not None and uuid not in self._service_filter:
                continue
            service = BleakGATTService(service_proxy, service_proxy.handle, uuid)
            collection.add_service(service)
            for char_proxy in await service_proxy.discover_characteristics():
                mtu = self._connection.att_mtu
                characteristic = BleakGATTCharacteristic(
                    char_proxy,
                    char_proxy.handle - 1,  # declaration handle, as bleak's BlueZ backend numbers them
                    bleak_uuid(char_proxy.uuid),
                    [name for bit, name in CHARACTERISTIC_PROPERTIES.items() if int(char_proxy.properties) & bit],
                    functools.partial(int.__sub__, mtu, 3),  # the usable payload: ATT MTU - 3
                    service,
                )
                collection.add_characteristic(characteristic)
                for descriptor_proxy in await char_proxy.discover_descriptors():
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor_proxy, descriptor_proxy.handle, bleak_uuid(descriptor_proxy.type), characteristic
                        )
                    )
        return collection

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        self.last_disconnect_reason = reason
        logger.debug("%s disconnected: %s", self.address, hci.HCI_Constant.error_name(reason))
        if not self._disconnecting and self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)

    async def _drop(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._disconnecting = True
        try:
            async with asyncio.timeout(max(self._timeout, 1.0)):
                await connection.disconnect()
        except (TimeoutError, core.BaseBumbleError) as exc:
            logger.debug("disconnect from %s failed: %s", self.address, exc)
        finally:
            self._disconnecting = False
            self._connection = None
            self._peer = None

    async def disconnect(self) -> None:
        await self._drop()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise BleakError("pairing is not supported by the bumble backend")

    async def unpair(self) -> None:
        raise BleakError("unpairing is not supported by the bumble backend")

    # I/O

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        with _translated(f"read {characteristic.uuid}", self):
            return bytearray(await peer.read_value(characteristic.obj))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        with _translated(f"read descriptor {descriptor.handle}", self):
            return bytearray(await peer.read_value(descriptor.obj))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool) -> None:
        peer = self._require_peer()
        with _translated(f"write {characteristic.uuid}", self):
            await peer.write_value(characteristic.obj, bytes(data), with_response=response)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        peer = self._require_peer()
        with _translated(f"write descriptor {descriptor.handle}", self):
            await peer.write_value(descriptor.obj, bytes(data), with_response=True)

    async def start_notify(self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any) -> None:
        """Subscribe: bumble writes the CCCD (0x2902) with a write request, as every stack does."""
        peer = self._require_peer()

        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        with _translated(f"start notify {characteristic.uuid}", self):
            await peer.subscribe(characteristic.obj, subscriber)
        self._subscribers[characteristic.handle] = subscriber

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._require_peer()
        subscriber = self._subscribers.pop(characteristic.handle, None)
        with _translated(f"stop notify {characteristic.uuid}", self):
            await peer.unsubscribe(characteristic.obj, subscriber)


@contextlib.contextmanager
def _translated(what: str, client: BumbleClient) -> Iterator[None]:
    """bumble's exceptions -> bleak's. A request pending when the link drops is *cancelled* by
    bumble: that cancellation is turned into ``BleakError`` unless our own task is being cancelled."""
    try:
        yield
    except att.ATT_Error as exc:
        raise BleakGATTProtocolError(exc.error_code) from exc
    except core.BaseBumbleError as exc:
        raise BleakError(f"{what} on {client.address} failed: {exc}") from exc
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling() == 0 and not client.is_connected:
            raise BleakError(f"{what} on {client.address} failed: disconnected") from None
        raise

"""One bumble host (a ``bumble.device.Device`` in the central role) shared by scanner and client.

bleak creates a new scanner backend and a new client backend for each ``BleakScanner`` /
``BleakClient``; both must drive the *same* controller (one USB dongle, one TCP link, one virtual
controller). :class:`BumbleStack` is that shared piece: it reaches bleak's backends through the
extra keyword argument ``bumble_stack=`` (bleak 3.1 passes unknown keyword arguments of
``BleakScanner(...)`` / ``BleakClient(...)`` straight to the backend constructor).

A stack is opened lazily (on first scan or connect) and must be closed by whoever created it
(:meth:`aclose`). Two ways to reach a controller:

- ``BumbleStack(transport="usb:0")``: any bumble transport spec, opened with
  :func:`bumble.transport.open_transport` (``usb:0``, ``tcp-client:127.0.0.1:9000``, ``serial:...``).
- ``BumbleStack(link=LocalLink())``: an in-process virtual radio; a virtual
  :class:`bumble.controller.Controller` is attached to the link for this host (tests, the demo).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from bumble import hci
from bumble.controller import Controller
from bumble.device import Advertisement, Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

logger = logging.getLogger(__name__)

#: The central's own address on an in-process link (a static random address).
DEFAULT_CENTRAL_ADDRESS = "C0:FF:EE:00:00:01"

AdvertisementListener = Callable[[Advertisement], None]


class BumbleStack:
    """A lazily opened bumble host, shared by the scanner and client backends of one session."""

    def __init__(
        self,
        *,
        transport: str | None = None,
        link: LocalLink | None = None,
        address: str = DEFAULT_CENTRAL_ADDRESS,
        name: str = "biofeedback",
    ) -> None:
        if (transport is None) == (link is None):
            raise ValueError("give exactly one of transport= (a bumble transport spec) or link=")
        self.transport_spec = transport
        self.link = link
        self.address = address
        self.name = name
        self.device: Device | None = None
        self._transport: Any = None
        self._controller: Controller | None = None
        self._open_lock: asyncio.Lock | None = None
        self._listeners: dict[object, AdvertisementListener] = {}
        self._scan_users = 0
        #: Address string -> (loop time last seen advertising, the bumble address with its type).
        self.last_seen: dict[str, tuple[float, hci.Address]] = {}
        self._seen_event: asyncio.Event | None = None

    def __repr__(self) -> str:
        where = self.transport_spec if self.transport_spec is not None else "in-process link"
        return f"BumbleStack({where})"

    async def open(self) -> Device:
        """Open the transport (once), power the host on and return the bumble ``Device``."""
        if self._open_lock is None:
            self._open_lock = asyncio.Lock()
        async with self._open_lock:
            if self.device is not None:
                return self.device
            if self.link is not None:
                self._controller = Controller(f"{self.name}-controller", link=self.link, public_address=self.address)
                host = Host(self._controller, AsyncPipeSink(self._controller))
                device = Device(name=self.name, address=hci.Address(self.address), host=host)
            else:
                from bumble.transport import open_transport

                assert self.transport_spec is not None
                try:
                    self._transport = await open_transport(self.transport_spec)
                except Exception as exc:  # OSError, bumble's TransportInitError, ValueError...
                    from devices.ble_errors import TransportOpenError

                    raise TransportOpenError(self.transport_spec, exc) from exc
                device = Device.with_hci(
                    self.name, hci.Address(self.address), self._transport.source, self._transport.sink
                )
            device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
            try:
                await device.power_on()
            except BaseException:
                await self._close_transport()
                raise
            self.device = device
            self._seen_event = asyncio.Event()
            return device

    async def aclose(self) -> None:
        """Stop scanning, drop every connection and close the transport (idempotent)."""
        device, self.device = self.device, None
        if device is not None:
            for connection in list(device.connections.values()):
                try:
                    async with asyncio.timeout(5):
                        await connection.disconnect()
                except Exception as exc:  # the link may already be gone
                    logger.debug("disconnect on close failed: %s", exc)
            if device.is_scanning:
                try:
                    await device.stop_scanning()
                except Exception as exc:
                    logger.debug("stop scanning on close failed: %s", exc)
            device.remove_listener(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        if self._controller is not None and self.link is not None:
            if self._controller in self.link.controllers:
                self.link.remove_controller(self._controller)
            self._controller = None
        self._scan_users = 0
        await self._close_transport()

    async def _close_transport(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.close()

    # Scanning: several users (a BleakScanner, a client looking for its peer) share one scan.

    def add_listener(self, listener: AdvertisementListener) -> Callable[[], None]:
        token = object()
        self._listeners[token] = listener

        def remove() -> None:
            self._listeners.pop(token, None)

        return remove

    async def start_scanning(self, *, active: bool = True) -> None:
        device = await self.open()
        self._scan_users += 1
        if self._scan_users == 1:
            await device.start_scanning(active=active, filter_duplicates=False)

    async def stop_scanning(self) -> None:
        if self._scan_users == 0:
            return
        self._scan_users -= 1
        if self._scan_users == 0 and self.device is not None and self.device.is_scanning:
            await self.device.stop_scanning()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        key = format_address(advertisement.address)
        self.last_seen[key] = (asyncio.get_running_loop().time(), advertisement.address)
        if self._seen_event is not None:
            self._seen_event.set()
            self._seen_event = asyncio.Event()
        for listener in list(self._listeners.values()):
            listener(advertisement)

    async def wait_advertising(self, address: str, *, since_s: float) -> hci.Address:
        """Wait (unbounded: the caller bounds it) until ``address`` advertises at or after ``since_s``
        (loop time), scanning meanwhile. Returns its bumble address (with the address type)."""
        await self.start_scanning()
        try:
            while True:
                seen = self.last_seen.get(address.upper())
                if seen is not None and seen[0] >= since_s:
                    return seen[1]
                assert self._seen_event is not None
                await self._seen_event.wait()
        finally:
            await self.stop_scanning()


def format_address(address: hci.Address) -> str:
    """``AA:BB:CC:DD:EE:FF`` (upper case, no bumble address-type suffix)."""
    return address.to_string(with_type_qualifier=False).upper()

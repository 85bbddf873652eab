"""A virtual chest strap: a bumble GATT server on a virtual radio link that behaves like a real one.

It advertises the Heart Rate (0x180D) and Battery (0x180F) services under a strap-like name and
serves:

- Heart Rate Measurement (0x2A37, notify): any payload, built by :func:`heart_rate_payload`
  (uint8 or uint16 HR, contact supported/detected, Energy Expended, several RR per notification)
  or raw bytes (malformed payloads, bursts);
- Body Sensor Location (0x2A38, read) = 1 (chest);
- Battery Level (0x2A19, read + notify);
- Device Information (0x180A): Manufacturer Name (0x2A29), Model Number (0x2A24), Firmware
  Revision (0x2A26).

Like hardware, notifications sent before the client's CCCD write are dropped. The strap can drop
the link, go out of range (disconnect with reason 0x08 "connection timeout", then detach its
controller from the link so it is neither seen nor reachable) and come back.

Nothing here sleeps: the test (or :meth:`VirtualStrap.play` with an injected clock) decides when
each notification is sent. On a :class:`bumble.link.LocalLink` delivery is in-process, through the
event loop; await the receiving side (e.g. the next item of a source's stream) to observe it.

Also a small program, so that a command in another process can reach a virtual strap::

    python -m devices.virtual_strap --serve tcp-server:127.0.0.1:9000 [--hr-bpm 60]

serves a virtual controller on that TCP port (loopback only) sharing a link with the strap and
a few non-heart-rate devices; ``biofeedback scan --ble-transport tcp-client:127.0.0.1:9000`` then
finds the strap.
"""

from __future__ import annotations

import argparse
import asyncio
import struct
from collections.abc import Iterable, Sequence

from bumble import gatt, hci
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Connection, Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from devices.clock import Clock
from devices.hrm_parser import encode_heart_rate_measurement

HEART_RATE_SERVICE = 0x180D
BATTERY_SERVICE = 0x180F
DEVICE_INFORMATION_SERVICE = 0x180A
BODY_LOCATION_CHEST = 1

#: HCI disconnection reasons used here.
REASON_CONNECTION_TIMEOUT = 0x08  # what a central sees when a strap goes out of range
REASON_REMOTE_USER_TERMINATED = 0x13
REASON_REMOTE_POWER_OFF = 0x15


def heart_rate_payload(
    hr_bpm: int,
    rr_ticks_1024: Sequence[int] = (),
    *,
    contact: bool | None = True,
    energy_expended_kj: int | None = None,
    uint16: bool = False,
) -> bytes:
    """A Heart Rate Measurement (0x2A37) value as a strap sends it, built by the one encoder
    :func:`devices.hrm_parser.encode_heart_rate_measurement` (Heart Rate Service spec 1.0, 3.1).

    ``contact``: ``None`` = sensor contact not supported; ``True``/``False`` = supported and
    detected / not detected. RR intervals are uint16 in 1/1024 s, oldest first; ``uint16`` writes
    the heart rate as uint16.
    """
    return encode_heart_rate_measurement(
        hr_bpm, rr_ticks_1024, contact_supported=contact is not None, contact_detected=contact,
        energy_expended_kj=energy_expended_kj, hr_uint16=uint16,
    )


class VirtualStrap:
    """A BLE peripheral on ``link``; by default a heart-rate chest strap.

    With ``heart_rate=False`` it is some other device (a speaker, a cycling sensor...) that does
    not serve 0x180D, whatever its name says: useful to prove that discovery goes by UUID.
    """

    def __init__(
        self,
        link: LocalLink,
        *,
        name: str = "Polar H10 V1RTU4L",
        address: str = "F0:10:20:30:40:50",
        heart_rate: bool = True,
        advertised_uuids16: Sequence[int] | None = None,
        battery_pct: int = 87,
        manufacturer: str = "Polar Electro Oy",
        model: str = "H10",
        firmware: str = "5.0.0",
        body_location: int = BODY_LOCATION_CHEST,
        advertising_interval_ms: float = 100.0,
    ) -> None:
        self.link = link
        self.name = name
        self.address = address.upper()
        self.heart_rate = heart_rate
        if advertised_uuids16 is None:
            advertised_uuids16 = (HEART_RATE_SERVICE, BATTERY_SERVICE) if heart_rate else (BATTERY_SERVICE,)
        self.advertised_uuids16 = tuple(advertised_uuids16)
        self.battery_pct = battery_pct
        self.advertising_interval_ms = advertising_interval_ms
        self.connection: Connection | None = None
        #: Notifications handed to the link while the client was subscribed / dropped for lack of one.
        self.sent = 0
        self.dropped = 0
        self.connections = 0
        self.disconnect_reasons: list[int] = []
        #: Every CCCD change of Heart Rate Measurement by a client (True = notifications on).
        self.subscription_log: list[bool] = []
        self._subscribed = False
        self._state = asyncio.Condition()
        self._in_range = True

        self.hrm = gatt.Characteristic(
            "2A37", gatt.Characteristic.Properties.NOTIFY, gatt.Characteristic.READABLE, b""
        )
        self.battery = gatt.Characteristic(
            "2A19",
            gatt.Characteristic.Properties.READ | gatt.Characteristic.Properties.NOTIFY,
            gatt.Characteristic.READABLE,
            bytes([battery_pct]),
        )
        services = []
        if heart_rate:
            location = gatt.Characteristic(
                "2A38", gatt.Characteristic.Properties.READ, gatt.Characteristic.READABLE, bytes([body_location])
            )
            services.append(gatt.Service("180D", [self.hrm, location]))
        services.append(gatt.Service("180F", [self.battery]))
        info = [
            gatt.Characteristic(uuid, gatt.Characteristic.Properties.READ, gatt.Characteristic.READABLE, text.encode())
            for uuid, text in (("2A29", manufacturer), ("2A24", model), ("2A26", firmware))
        ]
        services.append(gatt.Service("180A", info))
        self._services = services
        self.controller: Controller | None = None
        self.device: Device | None = None

    # Life cycle

    async def start(self) -> "VirtualStrap":
        """Power on and advertise (restarting after every disconnection)."""
        self.controller = Controller(f"strap-{self.address}", link=self.link, public_address=self.address)
        self.device = Device(
            name=self.name,
            address=hci.Address(self.address),
            host=Host(self.controller, AsyncPipeSink(self.controller)),
        )
        self.device.add_services(self._services)
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        self.device.on("characteristic_subscription", self._on_subscription)
        await self.device.power_on()
        await self.device.start_advertising(
            advertising_data=self.advertising_data(),
            auto_restart=True,
            advertising_interval_min=self.advertising_interval_ms,
            advertising_interval_max=self.advertising_interval_ms,
        )
        return self

    async def close(self) -> None:
        if self.device is not None:
            await self.device.stop_advertising()
            if self.connection is not None:
                await self._disconnect(REASON_REMOTE_POWER_OFF)
        if self.controller is not None and self.controller in self.link.controllers:
            self.link.remove_controller(self.controller)

    async def __aenter__(self) -> "VirtualStrap":
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def advertising_data(self) -> bytes:
        uuids = b"".join(struct.pack("<H", u) for u in self.advertised_uuids16)
        return bytes(
            AdvertisingData(
                [
                    (AdvertisingData.Type.FLAGS, bytes([0x06])),
                    (AdvertisingData.Type.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, uuids),
                    (AdvertisingData.Type.COMPLETE_LOCAL_NAME, self.name.encode()),
                ]
            )
        )

    # State, observable without sleeping

    @property
    def subscribed(self) -> bool:
        """True while a client has notifications on for Heart Rate Measurement."""
        return self._subscribed and self.connection is not None

    def _on_connection(self, connection: Connection) -> None:
        self.connection = connection
        self.connections += 1
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        asyncio.get_running_loop().create_task(self._notify_state())

    def _on_disconnection(self, reason: int) -> None:
        self.connection = None
        self._subscribed = False
        self.disconnect_reasons.append(reason)
        asyncio.get_running_loop().create_task(self._notify_state())

    def _on_subscription(
        self, connection: Connection, characteristic: gatt.Characteristic, notify: bool, indicate: bool
    ) -> None:
        if characteristic is self.hrm:
            self._subscribed = bool(notify)
            self.subscription_log.append(bool(notify))
            asyncio.get_running_loop().create_task(self._notify_state())

    async def _notify_state(self) -> None:
        async with self._state:
            self._state.notify_all()

    async def wait_subscribed(self) -> None:
        """Return once a client has enabled Heart Rate Measurement notifications."""
        async with self._state:
            await self._state.wait_for(lambda: self.subscribed)

    async def wait_disconnected(self) -> None:
        async with self._state:
            await self._state.wait_for(lambda: self.connection is None)

    # Data

    async def notify(self, payload: bytes) -> bool:
        """Send one Heart Rate Measurement notification with exactly these bytes.

        Returns False (and counts it in :attr:`dropped`) when no client is subscribed: the bytes
        are lost, as on a real strap.
        """
        assert self.device is not None, "start() the strap first"
        if not self.subscribed:
            self.dropped += 1
            return False
        await self.device.notify_subscribers(self.hrm, bytes(payload))
        self.sent += 1
        return True

    async def send_rr(
        self,
        rr_ticks_1024: Sequence[int],
        *,
        hr_bpm: int | None = None,
        contact: bool | None = True,
        energy_expended_kj: int | None = None,
        uint16: bool = False,
    ) -> bool:
        """One notification carrying these RR intervals (HR from the last one unless given)."""
        if hr_bpm is None:
            hr_bpm = round(60 * 1024 / rr_ticks_1024[-1]) if rr_ticks_1024 else 60
        return await self.notify(
            heart_rate_payload(
                hr_bpm, rr_ticks_1024, contact=contact, energy_expended_kj=energy_expended_kj, uint16=uint16
            )
        )

    async def burst(self, payloads: Iterable[bytes]) -> int:
        """Several notifications back to back (one connection event); returns how many went out."""
        return sum([await self.notify(p) for p in payloads])

    async def play(self, schedule: Iterable[tuple[float, bytes]], clock: Clock) -> int:
        """Send each ``(t_s, payload)`` when ``clock`` reaches ``t_s`` (clock seconds); returns sent count.

        With a :class:`devices.clock.VirtualClock` this runs as fast as the receiver keeps up.
        """
        sent = 0
        for t_s, payload in schedule:
            await clock.sleep(t_s - clock.monotonic_s())
            sent += await self.notify(payload)
        return sent

    async def set_battery(self, pct: int) -> None:
        """Change the Battery Level and notify a subscribed client."""
        self.battery_pct = pct
        self.battery.value = bytes([pct])
        if self.device is not None and self.connection is not None:
            await self.device.notify_subscribers(self.battery, bytes([pct]))

    # Link trouble

    async def _disconnect(self, reason: int) -> None:
        assert self.device is not None
        connection = self.connection
        if connection is None:
            return
        await self.device.disconnect(connection, reason)

    async def drop_link(self, reason: int = REASON_REMOTE_USER_TERMINATED) -> None:
        """The strap ends the connection (e.g. the wearer took it off); it advertises again at once."""
        await self._disconnect(reason)

    async def go_out_of_range(self) -> None:
        """The wearer walks away: the link times out (reason 0x08) and the strap is no longer
        heard (its controller is detached from the radio link) until :meth:`come_back`."""
        await self._disconnect(REASON_CONNECTION_TIMEOUT)
        assert self.controller is not None
        if self._in_range:
            self.link.remove_controller(self.controller)
            self.controller.link = LocalLink()  # alone on its own radio: nobody hears it
            self._in_range = False

    def come_back(self) -> None:
        """Back in range: heard (and connectable) again from its next advert."""
        assert self.controller is not None
        if not self._in_range:
            self.controller.link = self.link
            self.link.add_controller(self.controller)
            self._in_range = True


def rr_schedule(
    rr_ticks_1024: Sequence[int], *, start_s: float = 0.0, per_notification: int = 1, contact: bool | None = True
) -> list[tuple[float, bytes]]:
    """Notifications for an RR sequence: each sent at the beat that ends its last interval."""
    schedule: list[tuple[float, bytes]] = []
    t_s = start_s
    for i in range(0, len(rr_ticks_1024), per_notification):
        chunk = list(rr_ticks_1024[i : i + per_notification])
        t_s += sum(chunk) / 1024
        schedule.append((t_s, heart_rate_payload(round(60 * 1024 / chunk[-1]), chunk, contact=contact)))
    return schedule


async def _open_served(spec: str) -> tuple[object, str]:
    """Open the host-facing transport; ``tcp-server:HOST:0`` picks a free port. Returns it and the
    spec a host uses to reach it."""
    from bumble.transport import open_transport

    if spec.startswith("tcp-server:") and spec.endswith(":0"):
        import socket

        from bumble.transport.tcp_server import open_tcp_server_transport_with_socket

        host = spec[len("tcp-server:") : -2]
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((host, 0))
        transport = await open_tcp_server_transport_with_socket(sock)
        return transport, f"tcp-client:{host}:{sock.getsockname()[1]}"
    transport = await open_transport(spec)
    client_spec = spec.replace("tcp-server:", "tcp-client:", 1) if spec.startswith("tcp-server:") else spec
    return transport, client_spec


async def _serve(spec: str, hr_bpm: int, rr_ticks: int) -> None:
    """The ``--serve`` program: a strap, two decoys and a host-facing controller on one link."""
    from devices.clock import RealClock

    link = LocalLink()
    transport, client_spec = await _open_served(spec)
    Controller("host-facing", host_source=transport.source, host_sink=transport.sink, link=link)  # type: ignore[attr-defined]
    strap = await VirtualStrap(link).start()
    decoys = [
        await VirtualStrap(link, name="Heart Rate Speaker", address="F0:10:20:30:40:61", heart_rate=False).start(),
        await VirtualStrap(
            link, name="HRM-Pro Bike", address="F0:10:20:30:40:62", heart_rate=False, advertised_uuids16=(0x1816,)
        ).start(),
    ]
    print(f"serving {client_spec}", flush=True)  # the line a test (or a person) waits for
    clock = RealClock()
    try:
        while True:  # one beat per rr_ticks while somebody listens
            await clock.sleep(rr_ticks / 1024)
            await strap.send_rr([rr_ticks], hr_bpm=hr_bpm)
    finally:
        for d in [strap, *decoys]:
            await d.close()
        await transport.close()  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devices.virtual_strap", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--serve",
        metavar="SPEC",
        required=True,
        help="bumble transport to serve a controller on, e.g. tcp-server:127.0.0.1:9000 (port 0: pick a free one)",
    )
    parser.add_argument("--hr-bpm", type=int, default=60)
    parser.add_argument("--rr-ticks", type=int, default=1024)
    args = parser.parse_args(argv)
    host = args.serve.split(":")[1] if args.serve.startswith("tcp-server:") else "127.0.0.1"
    if host not in ("127.0.0.1", "localhost"):
        parser.error("serve on loopback only (127.0.0.1)")
    try:
        asyncio.run(_serve(args.serve, args.hr_bpm, args.rr_ticks))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

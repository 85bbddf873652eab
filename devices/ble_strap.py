"""A Bluetooth LE chest strap (standard Heart Rate Service 0x180D) as a :class:`HeartRateSource`.

Speaks only bleak's public API (``BleakScanner``, ``BleakClient``), whichever stack runs under it:
``backend=None`` is the operating system's, otherwise the bumble backend class and its keyword
arguments from :func:`devices.ble_stack.ble_backend_for` (a USB dongle, a TCP controller, or an
in-process virtual link for tests).

Data path (cf. thermopro-ble ``parser.py`` vs ``device.py``)::

    bleak notification callback --(arrival_s, bytes)--> queue --> stream():
        parse_heart_rate_measurement -> BeatTimer.push -> Beat / Gap; PayloadError -> event

The callback only stamps the arrival time with the injected clock and forwards the exact bytes;
parsing and beat timing happen in the consumer, so a slow consumer never blocks the BLE stack and
nothing is reordered. Every beat keeps the raw ``rr_ticks_1024`` the strap sent.

Connection life: find the strap (by address or by name, among devices advertising 0x180D), connect,
read Body Sensor Location, Battery Level and Device Information when present, subscribe to Heart
Rate Measurement (and Battery Level notifications when offered). On any disconnect the source
emits :class:`~biofeedback.events.Disconnected` (``reason``), tells the beat timer (the next beats
start after ``Gap(reason="disconnect")``), and reconnects with :func:`devices.backoff.backoff_delay_s`
waits on the injected clock, emitting ``Reconnecting`` (attempt, delay_s) then ``Connected``,
for as long as the session runs. ``stop()`` / cancellation unsubscribes and disconnects in
``finally``. bleak's exceptions become :class:`devices.errors.DeviceError` /
:class:`~devices.errors.DeviceNotFoundError` here (``raise ... from exc``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakBluetoothNotAvailableError, BleakDBusError, BleakDeviceNotFoundError, BleakError

from devices.backoff import backoff_delay_s
from devices.ble_errors import TransportOpenError
from devices.beat_timing import BeatTimer
from devices.clock import Clock
from devices.errors import DeviceError, DeviceNotFoundError, PayloadError
from devices.hrm_parser import HEART_RATE_MEASUREMENT_UUID, parse_heart_rate_measurement
from biofeedback.events import Battery, Connected, ContactLost, ContactRegained, Disconnected, MalformedPayload, Reconnecting
from devices.source import DeviceEvent, DeviceInfo, SourceItem

logger = logging.getLogger(__name__)

HEART_RATE_SERVICE_UUID = "0000180d-0000-1000-8000-00805f9b34fb"
BODY_SENSOR_LOCATION_UUID = "00002a38-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
MANUFACTURER_NAME_UUID = "00002a29-0000-1000-8000-00805f9b34fb"
MODEL_NUMBER_UUID = "00002a24-0000-1000-8000-00805f9b34fb"
FIRMWARE_REVISION_UUID = "00002a26-0000-1000-8000-00805f9b34fb"

#: Body Sensor Location values (Heart Rate Service 1.0, 3.2).
BODY_LOCATIONS = {0: "other", 1: "chest", 2: "wrist", 3: "finger", 4: "hand", 5: "ear lobe", 6: "foot"}

NO_ADAPTER_HINT = (
    "no Bluetooth adapter found ({detail}); switch Bluetooth on, or use a bumble transport with "
    "--ble-transport (e.g. usb:0; see docs/ble.md)"
)

_ADDRESS = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$")


@dataclass(frozen=True, slots=True)
class FoundDevice:
    """A heart-rate device heard advertising 0x180D."""

    name: str | None
    address: str
    rssi: int

    def to_json_dict(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address, "rssi": self.rssi}


def looks_like_address(identifier: str) -> bool:
    """A Bluetooth address (``AA:BB:CC:DD:EE:FF``) or a macOS device UUID, rather than a name."""
    return bool(_ADDRESS.match(identifier.strip()))


def _is_heart_rate(adv: AdvertisementData) -> bool:
    return HEART_RATE_SERVICE_UUID in (u.lower() for u in adv.service_uuids)


#: D-Bus errors that mean the Bluetooth service or adapter is not there (BlueZ): the D-Bus daemon's
#: own errors (no bluetoothd: ``ServiceUnknown``, ``NameHasNoOwner``...) and an adapter that is not ready.
_NO_ADAPTER_DBUS_PREFIXES = ("org.freedesktop.DBus.Error.", "org.bluez.Error.NotReady", "org.bluez.Error.NotAvailable")


def translate_bleak_error(exc: BaseException, what: str, identifier: str | None = None) -> DeviceError:
    """One line for a failure of the Bluetooth stack (bleak, the OS, a bumble transport), decided by
    the exception's type and attributes (bleak 3: :mod:`bleak.exc`), never by its message text."""
    if isinstance(exc, BleakDeviceNotFoundError):
        return DeviceNotFoundError(identifier or exc.identifier, what)
    text = _first_line(exc)
    if isinstance(exc, TransportOpenError):
        return DeviceError(f"{what}: {text}")
    if isinstance(exc, BleakBluetoothNotAvailableError):  # no adapter, powered off, permission denied
        return DeviceError(NO_ADAPTER_HINT.format(detail=f"{what}: {text} ({exc.reason.name.lower()})"))
    if isinstance(exc, BleakDBusError) and exc.dbus_error.startswith(_NO_ADAPTER_DBUS_PREFIXES):
        return DeviceError(NO_ADAPTER_HINT.format(detail=f"{what}: {text}"))
    if isinstance(exc, FileNotFoundError):  # BlueZ: no D-Bus system bus socket
        return DeviceError(NO_ADAPTER_HINT.format(detail=f"{what}: the Bluetooth service is not reachable ({text})"))
    if isinstance(exc, ConnectionRefusedError):  # the D-Bus socket is there, nobody listens
        return DeviceError(NO_ADAPTER_HINT.format(detail=f"{what}: {text}"))
    return DeviceError(f"{what}: {text}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _scanner_kwargs(backend: Any | None, backend_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    kwargs = dict(backend_kwargs)
    if backend is not None:
        kwargs["backend"] = backend.scanner
    return kwargs


def _client_kwargs(backend: Any | None, backend_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    kwargs = dict(backend_kwargs)
    if backend is not None:
        kwargs["backend"] = backend.client
    return kwargs


async def discover_heart_rate_devices(
    timeout_s: float = 5.0, *, backend: Any | None = None, backend_kwargs: Mapping[str, Any] | None = None
) -> list[FoundDevice]:
    """Scan ``timeout_s`` (event-loop seconds) and list the devices advertising the Heart Rate
    service, strongest signal first. Names are never used to decide what is a heart-rate device."""
    try:
        found = await BleakScanner.discover(
            timeout_s,
            return_adv=True,
            service_uuids=[HEART_RATE_SERVICE_UUID],
            **_scanner_kwargs(backend, backend_kwargs or {}),
        )
    except (BleakError, OSError) as exc:
        raise translate_bleak_error(exc, "scan failed") from exc
    devices = [
        FoundDevice(name=adv.local_name or device.name, address=device.address, rssi=adv.rssi)
        for device, adv in found.values()
        if _is_heart_rate(adv)
    ]
    return sorted(devices, key=lambda d: (-d.rssi, d.address))


async def find_heart_rate_device(
    identifier: str | None,
    timeout_s: float = 10.0,
    *,
    backend: Any | None = None,
    backend_kwargs: Mapping[str, Any] | None = None,
) -> tuple[BLEDevice, AdvertisementData]:
    """The first device advertising 0x180D whose address (or, failing that, name) is ``identifier``
    (any heart-rate device when ``None``). Raises :class:`DeviceNotFoundError` after ``timeout_s``."""
    wanted = identifier.strip() if identifier else None
    by_address = wanted is not None and looks_like_address(wanted)
    match: list[tuple[BLEDevice, AdvertisementData]] = []

    def accept(device: BLEDevice, adv: AdvertisementData) -> bool:
        if not _is_heart_rate(adv):
            return False
        if wanted is None:
            ok = True
        elif by_address:
            ok = device.address.replace("-", ":").upper() == wanted.replace("-", ":").upper()
        else:
            ok = wanted in (adv.local_name, device.name)
        if ok:
            match.append((device, adv))
        return ok

    try:
        device = await BleakScanner.find_device_by_filter(
            accept,
            timeout=timeout_s,
            service_uuids=[HEART_RATE_SERVICE_UUID],
            **_scanner_kwargs(backend, backend_kwargs or {}),
        )
    except (BleakError, OSError) as exc:
        raise translate_bleak_error(exc, "scan failed", identifier) from exc
    if device is None or not match:
        raise DeviceNotFoundError(
            identifier or "(any)", f"not heard advertising the Heart Rate service within {timeout_s:g} s"
        )
    return match[-1]


# Items on the internal queue: what the callbacks and the connection task hand to the consumer.
@dataclass(frozen=True, slots=True)
class _Notification:
    arrival_s: float
    payload: bytes


@dataclass(frozen=True, slots=True)
class _BatteryNotification:
    arrival_s: float
    payload: bytes


@dataclass(frozen=True, slots=True)
class _Disconnected:
    t_s: float
    reason: str


_END = object()


class BleStrap:
    """A BLE heart-rate strap; see the module docstring.

    Parameters
    ----------
    identifier:
        Address or advertised name of the strap; ``None`` = the first heart-rate device heard.
    clock:
        Stamps arrivals and times the reconnection waits (a :class:`~devices.clock.VirtualClock`
        in tests).
    backend, backend_kwargs:
        From :func:`devices.ble_stack.ble_backend_for` (``None, {}`` = the OS stack).
    owns_backend:
        Close the backend's transport when the source closes.
    scan_timeout_s, connect_timeout_s:
        Bounds, in event-loop seconds, of one search for the strap and of one connection.
    backoff_seed:
        Seed of the deterministic jitter of :func:`devices.backoff.backoff_delay_s`.
    retry_first_connection:
        If False (default) a strap that cannot be found or connected at the start raises; once
        connected, the source reconnects for as long as it runs.
    """

    def __init__(
        self,
        identifier: str | None,
        *,
        clock: Clock,
        backend: Any | None = None,
        backend_kwargs: Mapping[str, Any] | None = None,
        owns_backend: bool = False,
        scan_timeout_s: float = 10.0,
        connect_timeout_s: float = 20.0,
        backoff_seed: int = 0,
        retry_first_connection: bool = False,
    ) -> None:
        self.identifier = identifier
        self.clock = clock
        self.backend = backend
        self.backend_kwargs = dict(backend_kwargs or {})
        self.owns_backend = owns_backend
        self.scan_timeout_s = scan_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.backoff_seed = backoff_seed
        self.retry_first_connection = retry_first_connection
        self.info = DeviceInfo(name=identifier or "heart-rate strap", kind="ble")
        self._t0 = 0.0
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: BleakClient | None = None
        self._contact: bool | None = None
        self._battery_pct: int | None = None
        self._info_sent: DeviceInfo | None = None
        self.malformed_count = 0

    @classmethod
    def from_spec(cls, identifier: str | None, spec: str | None, *, clock: Clock, **options: Any) -> "BleStrap":
        """A strap on the stack named by a ``--ble-transport`` SPEC (``None`` = the OS stack)."""
        from devices.ble_stack import ble_backend_for

        backend, kwargs = ble_backend_for(spec)
        return cls(identifier, clock=clock, backend=backend, backend_kwargs=kwargs, owns_backend=True, **options)

    def _now_s(self) -> float:
        return self.clock.monotonic_s() - self._t0

    async def __aenter__(self) -> "BleStrap":
        self._t0 = self.clock.monotonic_s()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.stop()
        await self._shutdown()
        if self.owns_backend:
            from devices.ble_stack import close_backend

            await close_backend(self.backend_kwargs)

    def stop(self) -> None:
        self._stop.set()

    async def _shutdown(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            self._stop.set()
            try:
                await task
            except asyncio.CancelledError:
                if (current := asyncio.current_task()) is not None and current.cancelling():
                    raise
            except Exception as exc:  # already raised to the consumer by stream()
                logger.debug("BLE connection task ended with %r", exc)

    # The consumer side

    async def stream(self) -> AsyncIterator[SourceItem]:
        """Beats, gaps and device events in arrival order until :meth:`stop`."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ble-strap")
        timer = BeatTimer()
        try:
            while True:
                item = await self._queue.get()
                if item is _END:
                    if self._task is not None and self._task.done() and not self._task.cancelled():
                        exc = self._task.exception()
                        if exc is not None:
                            raise exc
                    return
                for out in self._consume(item, timer):
                    yield out
        finally:
            await self._shutdown()

    def _consume(self, item: object, timer: BeatTimer) -> list[SourceItem]:
        if isinstance(item, _Notification):
            try:
                measurement = parse_heart_rate_measurement(item.payload)
            except PayloadError as exc:
                self.malformed_count += 1
                return [MalformedPayload(item.arrival_s, exc.payload.hex(), exc.problem)]
            out: list[SourceItem] = []
            if measurement.contact_supported:
                contact = bool(measurement.contact_detected)
                if self._contact is not None and contact != self._contact:
                    out.append(ContactRegained(item.arrival_s) if contact else ContactLost(item.arrival_s))
                self._contact = contact
            out.extend(timer.push(item.arrival_s, measurement))
            return out
        if isinstance(item, _BatteryNotification):
            return self._battery_event(item.payload, item.arrival_s)
        if isinstance(item, _Disconnected):
            timer.mark_disconnected(item.t_s)
            return [Disconnected(item.t_s, item.reason)]
        assert isinstance(item, DeviceEvent), item
        return [item]

    def _battery_event(self, payload: bytes, t_s: float) -> list[SourceItem]:
        if len(payload) < 1 or payload[0] > 100:
            return []
        pct = payload[0]
        if pct == self._battery_pct:
            return []
        self._battery_pct = pct
        self.info = dataclasses.replace(self.info, battery_pct=pct)
        return [Battery(t_s, pct)]

    # The connection side (a task): callbacks only stamp and enqueue


    def _on_hrm(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        self._queue.put_nowait(_Notification(self._now_s(), bytes(data)))

    def _on_battery(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        self._queue.put_nowait(_BatteryNotification(self._now_s(), bytes(data)))

    async def _run(self) -> None:
        attempt = 0
        ever_connected = False
        try:
            while not self._stop.is_set():
                lost = asyncio.Event()
                try:
                    if not await self._unless_stopped(self._connect(lost)):
                        break  # stop() during a scan or connect attempt: cancelled at once
                except DeviceError as exc:
                    if not ever_connected and not self.retry_first_connection:
                        raise
                    reason = str(exc)
                    logger.info("connection attempt %d failed: %s", attempt + 1, reason)
                else:
                    ever_connected = True
                    attempt = 0
                    await self._wait_any(lost)
                    if self._stop.is_set():
                        break
                    reason = "link_lost"
                    self._queue.put_nowait(_Disconnected(self._now_s(), reason))
                    await self._drop_client()
                attempt += 1
                delay_s = backoff_delay_s(attempt, seed=self.backoff_seed)
                self._queue.put_nowait(Reconnecting(self._now_s(), attempt, delay_s, reason))
                await self._wait_any(None, self.clock.sleep(delay_s))
        finally:
            try:
                await self._drop_client(unsubscribe=True)
            finally:
                self._queue.put_nowait(_END)

    async def _unless_stopped(self, work: Any) -> bool:
        """Run ``work`` (a scan and connect attempt) unless :meth:`stop` comes first: then cancel it
        (the pending scan or connect ends now, not at its timeout) and return False."""
        task = asyncio.ensure_future(work)
        stopped = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            await asyncio.gather(stopped, return_exceptions=True)
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if task.cancelled():
            return False
        task.result()  # its DeviceError, if the attempt failed
        return True

    async def _wait_any(self, lost: asyncio.Event | None, *others: Any) -> None:
        """Wait until ``lost`` is set, any of ``others`` finishes, or stop() is called."""
        waits = [asyncio.ensure_future(self._stop.wait())]
        if lost is not None:
            waits.append(asyncio.ensure_future(lost.wait()))
        waits += [asyncio.ensure_future(o) for o in others]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def _connect(self, lost: asyncio.Event) -> None:
        device, adv = await find_heart_rate_device(
            self.identifier, self.scan_timeout_s, backend=self.backend, backend_kwargs=self.backend_kwargs
        )
        name = adv.local_name or device.name or device.address
        client = BleakClient(
            device,
            disconnected_callback=lambda _client: lost.set(),
            timeout=self.connect_timeout_s,
            **_client_kwargs(self.backend, self.backend_kwargs),
        )
        try:
            await client.connect()
            self._client = client
            info = await self._read_info(client, name, device.address)
            hrm = client.services.get_characteristic(HEART_RATE_MEASUREMENT_UUID)
            if hrm is None:
                raise DeviceError(f"{name} ({device.address}) has no Heart Rate Measurement characteristic")
            await client.start_notify(hrm, self._on_hrm)
            battery = client.services.get_characteristic(BATTERY_LEVEL_UUID)
            if battery is not None and "notify" in battery.properties:
                with contextlib.suppress(BleakError):
                    await client.start_notify(battery, self._on_battery)
        except (BleakError, OSError, TimeoutError) as exc:
            await self._drop_client()
            raise translate_bleak_error(exc, f"connecting to {name} ({device.address}) failed", device.address) from exc
        except BaseException:
            await self._drop_client()
            raise
        self.info = info
        self._queue.put_nowait(Connected(self._now_s(), name=name, address=device.address))
        if info != self._info_sent:
            self._info_sent = info
            self._queue.put_nowait(info.read_event(self._now_s()))
        if info.battery_pct is not None:
            self._queue.put_nowait(_BatteryNotification(self._now_s(), bytes([info.battery_pct])))

    async def _read_info(self, client: BleakClient, name: str, address: str) -> DeviceInfo:
        async def read_text(uuid: str) -> str | None:
            raw = await self._read(client, uuid)
            return raw.decode("utf-8", errors="replace").rstrip("\x00").strip() if raw else None

        battery = await self._read(client, BATTERY_LEVEL_UUID)
        location = await self._read(client, BODY_SENSOR_LOCATION_UUID)
        return DeviceInfo(
            name=name,
            address=address,
            manufacturer=await read_text(MANUFACTURER_NAME_UUID),
            model=await read_text(MODEL_NUMBER_UUID),
            firmware=await read_text(FIRMWARE_REVISION_UUID),
            battery_pct=battery[0] if battery and battery[0] <= 100 else None,
            body_location=BODY_LOCATIONS.get(location[0], f"reserved ({location[0]})") if location else None,
            kind="ble",
        )

    @staticmethod
    async def _read(client: BleakClient, uuid: str) -> bytes | None:
        """Read a characteristic when the strap has it; ``None`` when absent or unreadable."""
        char = client.services.get_characteristic(uuid)
        if char is None or "read" not in char.properties:
            return None
        try:
            return bytes(await client.read_gatt_char(char))
        except BleakError as exc:
            if not client.is_connected:
                raise
            logger.info("reading %s failed: %s", uuid, exc)
            return None

    async def _drop_client(self, *, unsubscribe: bool = False) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                if unsubscribe and client.is_connected:
                    with contextlib.suppress(BleakError):
                        await client.stop_notify(HEART_RATE_MEASUREMENT_UUID)
                if client.is_connected:
                    await client.disconnect()
        except (BleakError, OSError, TimeoutError) as exc:
            logger.info("disconnect failed: %s", exc)


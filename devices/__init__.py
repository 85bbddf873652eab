"""Heart-rate sources: BLE straps over bleak, the physiological simulator, the virtual strap.

Every source implements :class:`devices.source.HeartRateSource`. bleak and bumble are imported only
inside the modules that need them, so importing :mod:`devices` is cheap.
"""

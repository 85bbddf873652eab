"""biofeedback: heart-rate-variability biofeedback.

The HRV core (``biofeedback.hrv``, ``biofeedback.engine``) is pure: no I/O, no clock reads.
Data flows one way: source (``devices``) -> :class:`~biofeedback.beat.Beat` -> core -> indices -> screen
and store (``sessions``).
"""

__version__ = "0.1.0"

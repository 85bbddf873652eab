"""Phase changes and prompts of a guided session, as events due by a given time (pure).

The live runner calls :meth:`Timeline.advance` with the session time on every beat and on every
screen frame; each phase change and prompt comes out exactly once, in order, whatever the frame
rate or beat rate. Nothing here reads a clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from biofeedback.practices import Practice, Prompt, Protocol, prompt_schedule, prompts_between


@dataclass(frozen=True, slots=True)
class PhaseChange:
    """Phase ``name`` begins (``begin=True``) or ends at ``t_s``."""

    t_s: float
    name: str
    begin: bool


class Timeline:
    """The planned timeline of one session: phases from ``protocol``, prompts of ``practice``."""

    def __init__(self, practice: Practice, protocol: Protocol, lang: str):
        self.protocol = protocol
        self.prompts = prompt_schedule(practice, protocol, lang)
        changes: list[PhaseChange] = []
        for span in protocol.phase_boundaries():
            changes.append(PhaseChange(span.start_s, span.name, True))
            changes.append(PhaseChange(span.end_s, span.name, False))
        # At a shared boundary the old phase ends before the new one begins.
        self.changes = sorted(changes, key=lambda c: (c.t_s, c.begin))
        self._now: float | None = None
        self._next_change = 0
        # Nothing is due before this session time (the next phase change or prompt after _now):
        # advance() returns at once until then (it runs on every beat and frame).
        self._quiet_until = -math.inf

    def advance(self, now_s: float) -> list[PhaseChange | Prompt]:
        """Every phase change and prompt due in ``(previous now, now_s]`` (from 0 on the first call).

        Phase changes at a time come before the prompts at that time. Time never goes back: an
        earlier ``now_s`` than before returns nothing.
        """
        if self._now is not None and now_s <= self._now:
            return []
        if now_s < self._quiet_until:
            self._now = now_s
            return []
        due: list[PhaseChange | Prompt] = []
        while self._next_change < len(self.changes) and self.changes[self._next_change].t_s <= now_s:
            due.append(self.changes[self._next_change])
            self._next_change += 1
        prompts = prompts_between(self.prompts, self._now, now_s)
        self._now = now_s
        upcoming = prompts_between(self.prompts, now_s, math.inf)[:1]
        self._quiet_until = min(
            self.changes[self._next_change].t_s if self._next_change < len(self.changes) else math.inf,
            upcoming[0].t_s if upcoming else math.inf,
        )
        merged: list[PhaseChange | Prompt] = sorted(
            due + list(prompts), key=lambda e: (e.t_s, 0 if isinstance(e, PhaseChange) else 1)
        )
        return merged

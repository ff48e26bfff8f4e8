"""The counter's rest and top zones, on the progress signal (towards the top is larger).

A profile's zones are absolute angles set for the usual form of its exercise. Some variants
rest elsewhere: a heel bridge plants an almost straight leg, so its hips rest at ~10-30° of
flexion, inside the bridge's top zone, and the counter never sees a rest. Where a profile
allows it (`adaptive_rom_deg`), `RestLevel` learns the level the body keeps still at between
reps; when that level lies outside the profile's rest zone, the zones follow it: rest around
that level, the top `adaptive_rom_deg` beyond it. A body that rests inside the rest zone keeps
the profile's zones unchanged.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from posecheck.core.profiles import ExerciseProfile

STILL_MS = 600.0  # a rest is a level held this long...
STILL_SPREAD_DEG = 3.0  # ...within this many degrees


@dataclass(frozen=True)
class Zones:
    """Zone boundaries in progress units (see `ExerciseProfile.progress`)."""

    rest_p: float  # at or below: at rest
    top_p: float  # at or above: at the top
    hysteresis: float  # leaving a zone takes this much more
    min_rom: float  # a full rep covers at least this range
    partial_min_rom: float  # smaller excursions are noise, not partials

    @classmethod
    def of(cls, profile: ExerciseProfile) -> Zones:
        return cls(
            rest_p=profile.progress(profile.rest_deg),
            top_p=profile.progress(profile.top_deg),
            hysteresis=profile.hysteresis_deg,
            min_rom=profile.min_rom_deg,
            partial_min_rom=profile.partial_min_rom_deg,
        )


class RestLevel:
    """The zones in force: the profile's, or shifted to a rest the body keeps outside them."""

    def __init__(self, profile: ExerciseProfile) -> None:
        self.nominal = Zones.of(profile)
        self.rom = profile.adaptive_rom_deg
        self.current = self.nominal
        self._recent: deque[tuple[float, float]] = deque()

    def reset(self) -> None:
        self.current = self.nominal
        self._recent.clear()

    def update(self, t_ms: float, p: float, in_rep: bool) -> Zones:
        """Zones for this sample; they change only between reps."""
        if self.rom <= 0 or not math.isfinite(p):
            return self.current
        if in_rep:
            self._recent.clear()
            return self.current
        self._recent.append((t_ms, p))
        while t_ms - self._recent[0][0] > STILL_MS:
            self._recent.popleft()
        if t_ms - self._recent[0][0] < 0.8 * STILL_MS:
            return self.current
        values = sorted(v for _, v in self._recent)
        if values[-1] - values[0] > STILL_SPREAD_DEG:
            return self.current
        level = values[len(values) // 2]
        nominal = self.nominal
        if level <= nominal.rest_p:
            self.current = nominal
        else:
            h = min(nominal.hysteresis, self.rom / 4)
            self.current = Zones(
                rest_p=level + h,
                top_p=level + self.rom,
                hysteresis=h,
                min_rom=min(nominal.min_rom, self.rom),
                partial_min_rom=min(nominal.partial_min_rom, self.rom / 2),
            )
        return self.current

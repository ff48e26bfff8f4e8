"""Which angles a body's signal uses: the image (side view) or the world landmarks (front view).

A side view measures hip and knee angles best in the image; a front view foreshortens them, and
BlazePose's world landmarks serve better. Oblique views sit near the boundary between the two,
so a per-frame choice flickers and puts 10-20° steps into the signal (two estimates of the same
angle that disagree). `ViewBlend` decides with hysteresis and a dwell, and fades between the two
estimates, as `SideBlend` does between body sides.
"""

from __future__ import annotations

import math

FRONTAL_ENTER = 0.35  # hip spread / thigh length: clearly a front view
FRONTAL_LEAVE = 0.25  # clearly a side view (side views read ~0-0.2, a front view ~0.45)
FRONTAL_FIRST = 0.30  # the first frame's choice, before any history
VIEW_DWELL_MS = 500.0  # a new view must hold this long before it is adopted
VIEW_FADE_MS = 1000.0  # then the signal fades to it over this long


class ViewBlend:
    """The weight of the world-landmark (3D) angle in a body's signal: 0 side view, 1 front."""

    def __init__(self, dwell_ms: float = VIEW_DWELL_MS, fade_ms: float = VIEW_FADE_MS) -> None:
        self.dwell_ms = dwell_ms
        self.fade_ms = fade_ms
        self.frontal: bool | None = None
        self.weight = math.nan
        self._other_since: float | None = None
        self._from = 0.0
        self._since = 0.0

    def update(self, t_ms: float, spread_ratio: float) -> float:
        """The 3D weight at `t_ms`, given this frame's hip spread in thigh lengths (NaN: none)."""
        if self.frontal is None:
            if not math.isfinite(spread_ratio):
                return 0.0
            self.frontal = spread_ratio > FRONTAL_FIRST
            self.weight = self._from = float(self.frontal)
            self._since = t_ms
            return self.weight
        wants = (
            self.frontal
            if not math.isfinite(spread_ratio)
            else spread_ratio >= FRONTAL_ENTER
            if not self.frontal
            else spread_ratio > FRONTAL_LEAVE
        )
        if wants == self.frontal:
            self._other_since = None
        elif self._other_since is None:
            self._other_since = t_ms
        elif t_ms - self._other_since >= self.dwell_ms:
            self.frontal, self._other_since = wants, None
            self._from, self._since = self.weight, t_ms
        target = float(self.frontal)
        done = 1.0 if self.fade_ms <= 0 else min(1.0, max(0.0, (t_ms - self._since) / self.fade_ms))
        self.weight = self._from + (target - self._from) * done
        return self.weight


def blend(side_view: float, front_view: float, weight: float) -> float:
    """The two estimates mixed by the 3D `weight`; whichever exists when only one does."""
    if math.isfinite(side_view) and math.isfinite(front_view):
        return (1.0 - weight) * side_view + weight * front_view
    if weight >= 0.5:
        return front_view if math.isfinite(front_view) else side_view
    return side_view if math.isfinite(side_view) else front_view

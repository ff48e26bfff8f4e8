"""Counting reps and timing holds of one profile on one signal (one leg, or both together).

The package, by concern (each module's docstring says more):

* `machine`  `RepCounter`: the rep/hold state machine, counting reps and partials;
* `timing`   hold timing: the live hold flag, a finished rep's times and features (a mixin);
* `fits`     fitting: the live slope, corner fits of ramps meeting still levels, noise;
* `records`  what the counter reports (`CounterStep`, `RepFeatures`, ...) and keeps.

Import from `posecheck.core.counter`: the names below are the package's interface. The
measurements behind the timing are in `docs/measurements.md`, "Counter: hold timing".
"""

from __future__ import annotations

from posecheck.core.counter.fits import SlopeEstimator
from posecheck.core.counter.machine import SHORT_MOVE_DEG, RepCounter
from posecheck.core.counter.records import (
    MIN_HOLD_S,
    CounterStep,
    RepFeatures,
    RepIndex,
    RepSoFar,
)

__all__ = [
    "MIN_HOLD_S",
    "SHORT_MOVE_DEG",
    "CounterStep",
    "RepCounter",
    "RepFeatures",
    "RepIndex",
    "RepSoFar",
    "SlopeEstimator",
]

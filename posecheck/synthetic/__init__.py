"""Synthetic people with exact labels: a kinematic body, scripted exercise motions, a camera.

Used by tests (landmark sequences with known reps, holds and angles) and by the renderer.
Pure numpy; nothing here imports OpenCV or mediapipe.
"""

from __future__ import annotations

"""Live coaching: `posecheck live`, the webcam loop for doing glute bridges in front of a camera.

Modules: `capture` (capture thread, newest-frame handoff, reconnect), `session` (the loop),
`records` (settings, timings, the finished sets and outcome, each set's files),
`hud` (the big panel), `window` (OpenCV window / headless), `keys` (key sources),
`speech` (spoken counts), `hints` (camera set-up hints), `recorder` (--record videos),
`app` (wires the real parts together for the CLI).
"""

from __future__ import annotations

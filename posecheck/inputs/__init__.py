"""Inputs: what comes into posecheck before the pose model runs.

`sources` (frames from a file, camera, stream or images), `models` (the pose model bundles and
their pinned hashes) and `input_checks` (warnings for input far from what was validated).
"""

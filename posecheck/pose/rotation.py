"""Rotation geometry: the four quarter turns the estimator looks at a frame through, and the
exact maps of pixel coordinates between a frame and its rotated copy."""

from __future__ import annotations

import numpy as np

from posecheck.inputs.sources import rotate_clockwise

ROTATIONS: tuple[int, ...] = (0, 90, 180, 270)


def rotate_image(image: np.ndarray, rotation_deg: int) -> np.ndarray:
    """Rotate clockwise by 0/90/180/270 degrees (what the detector sees)."""
    return rotate_clockwise(image, rotation_deg)


def rotated_wh(frame_wh: tuple[int, int], rotation_deg: int) -> tuple[int, int]:
    """(width, height) of a (width, height) frame after a clockwise rotation."""
    w, h = frame_wh
    return (h, w) if rotation_deg % 180 else (w, h)


def rotate_points(xy: np.ndarray, frame_wh: tuple[int, int], rotation_deg: int) -> np.ndarray:
    """Map continuous pixel coordinates of the original frame into the rotated frame.

    Coordinates are continuous (pixel i spans [i, i+1)), so the map is exact for any point.
    """
    w, h = frame_wh
    x, y = np.asarray(xy, dtype=np.float64).T
    r = rotation_deg % 360
    if r == 0:
        out = (x, y)
    elif r == 90:
        out = (h - y, x)
    elif r == 180:
        out = (w - x, h - y)
    elif r == 270:
        out = (y, w - x)
    else:
        raise ValueError(f"rotation must be 0, 90, 180 or 270, got {rotation_deg}")
    return np.stack(out, axis=-1)


def unrotate_points(xy: np.ndarray, frame_wh: tuple[int, int], rotation_deg: int) -> np.ndarray:
    """Map continuous pixel coordinates of the rotated frame back to the original frame.

    `frame_wh` is the size of the ORIGINAL frame.
    """
    w, h = frame_wh
    xr, yr = np.asarray(xy, dtype=np.float64).T
    r = rotation_deg % 360
    if r == 0:
        out = (xr, yr)
    elif r == 90:
        out = (yr, h - xr)
    elif r == 180:
        out = (w - xr, h - yr)
    elif r == 270:
        out = (w - yr, xr)
    else:
        raise ValueError(f"rotation must be 0, 90, 180 or 270, got {rotation_deg}")
    return np.stack(out, axis=-1)

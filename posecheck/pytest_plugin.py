"""pytest plugin for posecheck (registered through the `pytest11` entry point).

Being filled in: fixture `posecheck_analyse`, helper `assert_counts`, option `--posecheck-labels`.
Kept importable and light (no cv2/mediapipe at import) since every pytest run loads it.
"""

from __future__ import annotations

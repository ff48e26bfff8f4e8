"""Stand-ins used by tests, benchmarks and docs scripts: a local MJPEG stream, a virtual display.

Nothing here is needed at run time; everything binds to loopback only.
"""

from __future__ import annotations

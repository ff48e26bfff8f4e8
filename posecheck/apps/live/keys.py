"""Keyboard actions and where key presses come from.

Why an abstraction: the real window reads keys with `cv2.waitKey`, which also pumps the GUI; tests
must drive the very same loop with scripted presses. `KeySource.poll(wait_ms)` is all the loop
knows: it returns one key code (or None) and may block up to `wait_ms`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from enum import Enum
from typing import Protocol


class Action(str, Enum):
    QUIT = "quit"
    PAUSE = "pause"
    RESET = "reset"
    NEXT_EXERCISE = "next_exercise"
    MIRROR = "mirror"
    FULLSCREEN = "fullscreen"
    SNAPSHOT = "snapshot"


ESC = 27
KEYMAP: dict[int, Action] = {
    ord("q"): Action.QUIT,
    ord("Q"): Action.QUIT,
    ESC: Action.QUIT,
    ord(" "): Action.PAUSE,
    ord("r"): Action.RESET,
    ord("e"): Action.NEXT_EXERCISE,
    ord("m"): Action.MIRROR,
    ord("f"): Action.FULLSCREEN,
    ord("s"): Action.SNAPSHOT,
}

KEY_HELP = "q quit  space pause  r reset  e exercise  m mirror  f fullscreen  s snapshot"


def action_for(key: int | None) -> Action | None:
    """The action bound to a key code from `cv2.waitKey` (which may carry modifier bits)."""
    if key is None or key < 0:
        return None
    return KEYMAP.get(key & 0xFF)


def key_code(key: str | int) -> int:
    """'q' -> 113, 'esc' -> 27, 'space' -> 32; ints pass through."""
    if isinstance(key, int):
        return key
    named = {"esc": ESC, "escape": ESC, "space": ord(" ")}
    return named.get(key.lower(), ord(key) if len(key) == 1 else -1)


class KeySource(Protocol):
    def poll(self, wait_ms: int) -> int | None:
        """One pressed key, or None; may block up to `wait_ms` (>= 1)."""
        ...


class CvKeySource:
    """Keys from the OpenCV window; `waitKey` also runs the GUI loop, so call it every frame."""

    def poll(self, wait_ms: int) -> int | None:
        import cv2

        key = cv2.waitKey(max(1, int(wait_ms)))
        return None if key < 0 else key


class NoKeys:
    """Headless: nothing to press; still honours the wait so the loop doesn't spin."""

    def poll(self, wait_ms: int) -> int | None:
        time.sleep(max(0, wait_ms) / 1000.0)
        return None


class ScriptedKeys:
    """Keys injected by a test: pushed from any thread, or scheduled by loop step.

    `ScriptedKeys(at={30: "space", 60: "space", 90: "q"})` presses space on the 30th poll, etc.;
    `push("r")` presses a key on the next poll. `delegate` (e.g. `CvKeySource`) still pumps the
    window when no scripted key is due, so a real window stays responsive under a script.
    """

    def __init__(
        self,
        at: dict[int, str | int] | None = None,
        *,
        keys: Iterable[str | int] = (),
        delegate: KeySource | None = None,
    ) -> None:
        self._at = {step: key_code(k) for step, k in (at or {}).items()}
        self._queue: deque[int] = deque(key_code(k) for k in keys)
        self._lock = threading.Lock()
        self._delegate = delegate
        self.step = 0
        self.pressed: list[int] = []

    def push(self, key: str | int) -> None:
        with self._lock:
            self._queue.append(key_code(key))

    def poll(self, wait_ms: int) -> int | None:
        self.step += 1
        with self._lock:
            key = self._at.pop(self.step, None)
            if key is None and self._queue:
                key = self._queue.popleft()
        if key is None:
            if self._delegate is not None:
                return self._delegate.poll(wait_ms)
            return None
        if self._delegate is not None:
            self._delegate.poll(1)  # keep the GUI pumping
        self.pressed.append(key)
        return key

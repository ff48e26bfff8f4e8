"""Spoken coaching for a person lying on the floor who cannot watch a screen.

Offline text-to-speech through Debian's `espeak-ng` in a subprocess, on its own thread with a
short queue: the video loop only enqueues text and never waits. An utterance that waited longer
than its time-to-live is dropped (a late "three" is worse than none), and a newer utterance with
the same `key` replaces a pending one (only the latest hold countdown matters).

Backends: `EspeakPlayer` plays through the default audio device; `WavRecorder` renders every
utterance into one WAV on the session clock (tests and `--speech-wav`); `NullSpeech` is silence.
`make_speech()` picks one and degrades to silence when there is no audio device or no espeak-ng;
`speech_off_reason()` says why in one line, so the user is told once instead of left guessing.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import subprocess
import threading
import time
import wave
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from posecheck.core.results import EventKind, FrameResult

ESPEAK = "espeak-ng"
# A little slower and louder than the default: heard from the floor.
VOICE_ARGS = ("-s", "165", "-a", "180")


def espeak_path() -> str | None:
    return shutil.which(ESPEAK)


def audio_available() -> bool:
    """A best guess that something can play sound: an ALSA card or a Pulse/PipeWire server.

    espeak-ng exits 0 even when it cannot open a device, so we check for one ourselves.
    """
    if os.environ.get("PULSE_SERVER"):
        return True
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and (Path(runtime) / "pulse" / "native").exists():
        return True
    snd = Path("/dev/snd")
    return snd.is_dir() and any(p.name.startswith("pcm") for p in snd.iterdir())


def render_wav(text: str) -> bytes:
    """espeak-ng's WAV rendering of `text` (raises OSError/CalledProcessError on failure)."""
    exe = espeak_path()
    if exe is None:
        raise FileNotFoundError(ESPEAK)
    return subprocess.run(
        [exe, *VOICE_ARGS, "--stdout", text], check=True, capture_output=True, timeout=10
    ).stdout


class SpeechBackend(Protocol):
    def speak(self, text: str, t_ms: float) -> None:
        """Say `text` now (blocking this speech thread only); `t_ms` is the session time."""
        ...

    def close(self) -> None: ...


class NullSpeech:
    def speak(self, text: str, t_ms: float) -> None:
        return None

    def close(self) -> None:
        return None


INSTALL_HINT = "apt-get install espeak-ng"


def speech_off_reason(*, mute: bool = False, wav_path: str | Path | None = None) -> str | None:
    """Why spoken cues will not be heard (or rendered) on this machine, in one line; else None.

    `--mute` is the user's own choice and needs no explanation.
    """
    if wav_path is not None:
        if espeak_path() is None:
            return f"--speech-wav {wav_path} needs espeak-ng, not installed ({INSTALL_HINT})"
        return None
    if mute:
        return None
    if espeak_path() is None:
        return f"spoken cues are off: espeak-ng is not installed ({INSTALL_HINT})"
    if not audio_available():
        return "spoken cues are off: no audio device found (no ALSA card, no PulseAudio/PipeWire)"
    return None


class EspeakPlayer:
    """Plays through espeak-ng's own audio output; goes quiet for good after the first failure.

    `on_failure` is told once, in one line, why it went quiet (a device that was found but
    cannot play, say), so the user does not wait for counts that never come.
    """

    def __init__(self, on_failure: Callable[[str], None] | None = None) -> None:
        self.exe = espeak_path()
        self.broken = self.exe is None
        self.on_failure = on_failure

    def _fail(self, why: str) -> None:
        self.broken = True
        if self.on_failure is not None:
            self.on_failure(f"spoken cues are off: {why}")

    def speak(self, text: str, t_ms: float) -> None:
        if self.broken:
            return
        try:
            proc = subprocess.run(
                [self.exe or ESPEAK, *VOICE_ARGS, text], capture_output=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError) as exc:
            self._fail(f"espeak-ng failed ({type(exc).__name__})")
            return
        if proc.returncode != 0 or b"error" in proc.stderr.lower():
            # no device after all: degrade to visual only, and say so once
            lines = proc.stderr.decode(errors="replace").strip().splitlines()
            last = lines[-1] if lines else f"exit {proc.returncode}"
            self._fail(f"espeak-ng could not play: {last}")

    def close(self) -> None:
        return None


class WavRecorder:
    """Renders each utterance at its session time into one mono WAV, written on `close()`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.rate = 22050
        self._clips: list[tuple[float, np.ndarray]] = []
        self.spoken: list[tuple[float, str]] = []

    def speak(self, text: str, t_ms: float) -> None:
        data = render_wav(text)
        with wave.open(io.BytesIO(data)) as w:
            self.rate = w.getframerate()
            samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        self._clips.append((t_ms, samples))
        self.spoken.append((t_ms, text))

    def close(self) -> None:
        if not self._clips:
            total = np.zeros(self.rate // 10, dtype=np.int16)
        else:
            t0 = self._clips[0][0]
            end = max(int((t - t0) / 1000 * self.rate) + len(s) for t, s in self._clips)
            mix = np.zeros(end, dtype=np.int32)
            for t, s in self._clips:
                start = int((t - t0) / 1000 * self.rate)
                mix[start : start + len(s)] += s
            total = np.clip(mix, -32768, 32767).astype(np.int16)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(self.path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(self.rate)
            w.writeframes(total.tobytes())


@dataclass(frozen=True)
class Utterance:
    text: str
    t_ms: float  # session time it refers to
    queued_s: float  # monotonic time it was queued
    ttl_s: float
    key: str | None = None


class Speaker:
    """A speech thread fed by a short queue; `say()` never blocks the caller."""

    def __init__(
        self,
        backend: SpeechBackend,
        *,
        max_pending: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self._pending: deque[Utterance] = deque()
        self._max_pending = max_pending
        self._clock = clock
        self._cond = threading.Condition()
        self._closed = False
        self.dropped: list[str] = []
        self.spoken: list[str] = []
        self._thread = threading.Thread(target=self._run, name="posecheck-speech", daemon=True)
        self._thread.start()

    def say(self, text: str, t_ms: float, *, ttl_s: float = 1.5, key: str | None = None) -> None:
        utt = Utterance(text, t_ms, self._clock(), ttl_s, key)
        with self._cond:
            if key is not None:
                for old in [u for u in self._pending if u.key == key]:
                    self._pending.remove(old)
                    self.dropped.append(old.text)
            self._pending.append(utt)
            while len(self._pending) > self._max_pending:
                self.dropped.append(self._pending.popleft().text)
            self._cond.notify()

    def close(self, drain_s: float = 2.0) -> None:
        """Let pending speech finish (up to `drain_s`), then stop the thread and the backend."""
        deadline = self._clock() + drain_s
        with self._cond:
            while self._pending and self._clock() < deadline:
                self._cond.wait(0.05)
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=max(0.5, drain_s))
        self.backend.close()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed and not self._pending:
                    return
                utt = self._pending.popleft()
                self._cond.notify_all()
            if self._clock() - utt.queued_s > utt.ttl_s:
                self.dropped.append(utt.text)
                continue
            try:
                self.backend.speak(utt.text, utt.t_ms)
                self.spoken.append(utt.text)
            except Exception:
                self.dropped.append(utt.text)  # speech must never take the session down


def make_speech(
    *,
    mute: bool = False,
    wav_path: str | Path | None = None,
    on_failure: Callable[[str], None] | None = None,
) -> SpeechBackend:
    """The backend for this machine: a WAV file if asked, the speakers if any, else silence.

    `speech_off_reason()` with the same arguments says why it chose silence.
    """
    if wav_path is not None:
        return WavRecorder(wav_path) if espeak_path() else NullSpeech()
    if mute or espeak_path() is None or not audio_available():
        return NullSpeech()
    return EspeakPlayer(on_failure)


class Coach:
    """Turns the core's per-frame results into short spoken phrases.

    Counts on each completed rep ("one", "two"), "hold" when the pause at the top starts, a
    countdown of the last seconds to the hold target, "good" when it is met, and new form cues.
    """

    def __init__(self, speaker: Speaker | None) -> None:
        self.speaker = speaker
        self._last_countdown: int | None = None
        self._last_cue: tuple[str, float] | None = None

    def reset(self) -> None:
        self._last_countdown = None
        self._last_cue = None

    def say(self, text: str, t_ms: float, *, ttl_s: float = 1.5, key: str | None = None) -> None:
        if self.speaker is not None:
            self.speaker.say(text, t_ms, ttl_s=ttl_s, key=key)

    def update(self, result: FrameResult) -> list[str]:
        """Phrases for this frame (also sent to the speaker)."""
        said: list[str] = []
        t = result.t_ms
        for event in result.events:
            if event.kind is EventKind.REP_COMPLETED:
                said.append(number_word(result.rep_count))
            elif event.kind is EventKind.HOLD_STARTED and result.hold_target_s > 0:
                said.append("hold")
                self._last_countdown = math.ceil(result.hold_target_s)  # "hold" stands for it
            elif event.kind is EventKind.HOLD_TARGET_MET:
                said.append("good")
            elif event.kind is EventKind.CUE and event.message and self._new_cue(event.message, t):
                said.append(event.message)
                self._last_cue = (event.message, t)
        if result.holding and result.hold_target_s > 0:
            # Seconds still to go, said as each whole second is crossed: "hold ... one ... good".
            left = math.ceil(max(0.0, result.hold_target_s - result.hold_elapsed_s) - 1e-9)
            if self._last_countdown is not None and left < self._last_countdown and 0 < left <= 3:
                said.insert(0, number_word(left))
            self._last_countdown = left
        for text in said:
            is_count = text.isalpha() and text in _WORDS
            self.say(text, t, ttl_s=1.0 if is_count else 2.5, key=None)
        return said

    def _new_cue(self, message: str, t_ms: float) -> bool:
        """The same cue is said again only after 10 s: nagging helps nobody."""
        last = self._last_cue
        return last is None or last[0] != message or t_ms - last[1] > 10_000


_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)


def number_word(n: int) -> str:
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)

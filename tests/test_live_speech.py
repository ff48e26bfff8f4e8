"""Spoken coaching: what is said when, rendered offline by espeak-ng into a WAV; never blocking,
stale utterances dropped, silent degradation without a device."""

from __future__ import annotations

import math
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from helpers import require_espeak

from posecheck.apps.live import speech
from posecheck.apps.live.speech import Coach, NullSpeech, Speaker, WavRecorder, make_speech
from posecheck.core.results import (
    Direction,
    Event,
    EventKind,
    FrameResult,
    Phase,
    Position,
)


def result(t_ms: float, *, reps: int = 0, holding: bool = False, elapsed: float = 0.0,
           target: float = 3.0, events: tuple[Event, ...] = ()) -> FrameResult:
    return FrameResult(
        index=int(t_ms // 40), t_ms=t_ms, pose_present=True, side_used="left", measures=None,
        hip_smoothed_deg={"left": 5.0, "right": math.nan}, primary_deg=5.0, bridged=False,
        position=Position.NEUTRAL, direction=Direction.STILL,
        phase=Phase.HOLD if holding else Phase.REST, posture_ok=True, rep_count=reps,
        partial_count=0, side_counts={}, rep_in_progress=None, holding=holding,
        hold_elapsed_s=elapsed, hold_target_s=target, events=events,
    )


def coach_script() -> list[FrameResult]:
    """Rep 1 with a 3.4 s hold (target 3 s) at 25 fps: hold, two, one, good, then the count."""
    frames = [result(0.0)]
    t = 40.0
    frames.append(result(t, holding=True, events=(Event(EventKind.HOLD_STARTED, t),)))
    while t < 3400:
        t += 40.0
        met = abs(t - 3040.0) < 1e-6
        ev = (Event(EventKind.HOLD_TARGET_MET, t),) if met else ()
        frames.append(result(t, holding=True, elapsed=(t - 40) / 1000, events=ev))
    t += 40.0
    frames.append(result(t, reps=1, events=(Event(EventKind.HOLD_ENDED, t),
                                            Event(EventKind.REP_COMPLETED, t, rep_index=1))))
    return frames


def test_coach_says_hold_countdown_good_and_the_count_in_order() -> None:
    coach = Coach(None)
    said = [p for r in coach_script() for p in coach.update(r)]
    assert said == ["hold", "two", "one", "good", "one"]


def test_coach_counts_every_rep() -> None:
    coach = Coach(None)
    said = []
    for n in range(1, 4):
        said += coach.update(result(n * 1000.0, reps=n, target=0.0,
                                    events=(Event(EventKind.REP_COMPLETED, n * 1000.0),)))
    assert said == ["one", "two", "three"]


def test_same_cue_not_repeated_within_ten_seconds() -> None:
    coach = Coach(None)
    cue = (Event(EventKind.CUE, 0.0, message="Push your hips higher"),)
    assert coach.update(result(0.0, events=cue)) == ["Push your hips higher"]
    assert coach.update(result(5000.0, events=cue)) == []
    assert coach.update(result(11000.0, events=cue)) == ["Push your hips higher"]


class SlowBackend:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.said: list[str] = []
        self.started = threading.Event()

    def speak(self, text: str, t_ms: float) -> None:
        self.started.set()
        time.sleep(self.delay)
        self.said.append(text)

    def close(self) -> None:
        pass


def test_say_never_blocks_and_stale_utterances_are_dropped() -> None:
    backend = SlowBackend(0.3)
    speaker = Speaker(backend, max_pending=2)
    t0 = time.perf_counter()
    speaker.say("one", 0)
    assert backend.started.wait(2)
    for word in ("two", "three", "four", "five"):
        speaker.say(word, 0, ttl_s=0.1)
    assert time.perf_counter() - t0 < 0.25  # the caller did not wait for the 0.3 s speech
    speaker.close(drain_s=1.0)
    assert backend.said[0] == "one"
    assert "two" in speaker.dropped and "three" in speaker.dropped  # queue bound: oldest out
    assert "five" not in backend.said  # waited longer than its 0.1 s time-to-live
    assert set(backend.said) | set(speaker.dropped) == {"one", "two", "three", "four", "five"}


def test_keyed_utterance_replaces_the_pending_one() -> None:
    backend = SlowBackend(0.2)
    speaker = Speaker(backend, max_pending=5)
    speaker.say("one", 0)
    assert backend.started.wait(2)
    speaker.say("three", 0, key="countdown", ttl_s=5)
    speaker.say("two", 0, key="countdown", ttl_s=5)
    speaker.close(drain_s=2.0)
    assert backend.said == ["one", "two"]
    assert speaker.dropped == ["three"]


def test_mute_or_no_audio_device_is_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(make_speech(mute=True), NullSpeech)
    monkeypatch.setattr(speech, "audio_available", lambda: False)
    assert isinstance(make_speech(), NullSpeech)
    monkeypatch.setattr(speech, "espeak_path", lambda: None)
    monkeypatch.setattr(speech, "audio_available", lambda: True)
    assert isinstance(make_speech(), NullSpeech)


def test_player_goes_quiet_after_a_device_error(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    class Proc:
        returncode = 0
        stderr = b"ALSA lib pcm.c: Unknown PCM default\nerror: No such file or directory\n"

    def fake_run(*args: object, **kwargs: object) -> Proc:
        calls.append(args)
        return Proc()

    monkeypatch.setattr(speech.subprocess, "run", fake_run)
    player = speech.EspeakPlayer()
    player.exe = "espeak-ng"
    player.broken = False
    player.speak("one", 0)
    player.speak("two", 0)
    assert player.broken and len(calls) == 1


def test_coaching_renders_to_a_wav_on_the_session_clock(tmp_path: Path) -> None:
    require_espeak()
    wav_path = tmp_path / "coach.wav"
    recorder = WavRecorder(wav_path)
    speaker = Speaker(recorder, max_pending=8)
    coach = Coach(speaker)
    for r in coach_script():
        coach.update(r)
    speaker.close(drain_s=10.0)
    assert [text for _, text in recorder.spoken] == ["hold", "two", "one", "good", "one"]
    with wave.open(str(wav_path)) as w:
        rate = w.getframerate()
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(float)
    duration = len(audio) / rate
    assert 3.0 < duration < 6.0  # "hold" at 0.04 s ... last word at 3.44 s, plus its length
    # sound where words were said, silence in the gap between "hold" and the countdown
    def rms(t0: float, t1: float) -> float:
        seg = audio[int(t0 * rate) : int(t1 * rate)]
        return float(np.sqrt(np.mean(seg**2))) if len(seg) else 0.0

    assert rms(0.0, 0.4) > 300
    assert rms(0.7, 0.9) < 50
    first_count_at = (recorder.spoken[1][0] - recorder.spoken[0][0]) / 1000
    assert rms(first_count_at, first_count_at + 0.3) > 300


# -- telling the user, once, why there is no speech ------------------------------------------


def test_speech_off_reason_names_the_missing_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speech, "espeak_path", lambda: None)
    assert speech.speech_off_reason(mute=True) is None  # the user's own choice
    reason = speech.speech_off_reason()
    assert reason and "espeak-ng is not installed" in reason and "\n" not in reason
    wav_reason = speech.speech_off_reason(wav_path="x.wav")
    assert wav_reason and "--speech-wav x.wav" in wav_reason and "espeak-ng" in wav_reason
    monkeypatch.setattr(speech, "espeak_path", lambda: "/usr/bin/espeak-ng")
    monkeypatch.setattr(speech, "audio_available", lambda: False)
    assert "no audio device" in (speech.speech_off_reason() or "")
    assert speech.speech_off_reason(wav_path="x.wav") is None


def test_player_failure_is_reported_once(monkeypatch: pytest.MonkeyPatch) -> None:
    class Proc:
        returncode = 1
        stderr = b"ALSA lib pcm.c: Unknown PCM default\n"

    monkeypatch.setattr(speech.subprocess, "run", lambda *a, **k: Proc())
    notes: list[str] = []
    player = speech.EspeakPlayer(on_failure=notes.append)
    player.exe, player.broken = "espeak-ng", False
    player.speak("one", 0)
    player.speak("two", 0)
    assert notes == [
        "spoken cues are off: espeak-ng could not play: ALSA lib pcm.c: Unknown PCM default"
    ]


def test_live_says_once_why_speech_is_off_and_refuses_a_wav_it_cannot_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without espeak-ng: `live` prints one note line; `--speech-wav` is a one-line error."""
    from click.testing import CliRunner

    from posecheck.apps.live import app
    from posecheck.cli import main

    monkeypatch.setattr(speech, "espeak_path", lambda: None)
    wav = tmp_path / "coach.wav"
    result = CliRunner().invoke(main, ["live", "--source", "nope.mp4", "--headless",
                                       "--speech-wav", str(wav), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [f"posecheck: error: --speech-wav {wav} needs espeak-ng, not installed "
                     "(apt-get install espeak-ng)"]
    assert app.check_speech(app.LiveConfig(mute=True)) is None
    note = app.check_speech(app.LiveConfig())
    assert note == "spoken cues are off: espeak-ng is not installed (apt-get install espeak-ng)"

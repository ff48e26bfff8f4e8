"""Render speed of the ray-caster: frames per second on one core at 640x480 (and others).

    python benchmarks/render_speed.py [--frames 60] [--size 640x480]

Renders real motions (a glute bridge and a standing knee raise) through `posecheck.synthetic`
in this process only, and reports wall-clock and CPU frames/s (CPU time is the honest figure
on a shared machine; wall-clock includes other people's load).
"""

from __future__ import annotations

import argparse
import time

from posecheck.synthetic.scenario import parse_scenario, prepare

SCENARIO = """
exercise = "{exercise}"
[[script.reps]]
count = 3
[camera]
view = "{view}"
width = {w}
height = {h}
"""


CASES = (("glute_bridge", "side_left"), ("standing_knee_raise", "side_right"))


def measure(exercise: str, view: str, w: int, h: int, frames: int) -> tuple[float, float]:
    from posecheck.synthetic.render import Renderer

    prep = prepare(parse_scenario(SCENARIO.format(exercise=exercise, view=view, w=w, h=h)))
    renderer = Renderer(prep.camera, prep.scene, prep.scenario.look)
    worlds = prep.worlds[:: max(1, len(prep.worlds) // frames)][:frames]
    renderer.render(worlds[0], seed=0)  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for i, world in enumerate(worlds):
        renderer.render(world, seed=i)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(worlds) / wall, len(worlds) / cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--size", action="append", default=None, help="WxH (repeatable)")
    args = ap.parse_args()
    sizes = args.size or ["640x480", "480x360", "1280x720"]
    for size in sizes:
        w, h = (int(v) for v in size.lower().split("x"))
        for exercise, view in CASES:
            fps_wall, fps_cpu = measure(exercise, view, w, h, args.frames)
            print(f"{size:>9} {exercise:<20} {fps_cpu:6.1f} frames/s per core (CPU), "
                  f"{fps_wall:6.1f} wall")


if __name__ == "__main__":
    main()

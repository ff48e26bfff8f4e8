"""Re-render every sample clip from its scenario, or check that the committed files still match.

    python sample_videos/regenerate.py            # rewrite *.mp4, *.truth.json and labels.json
    python sample_videos/regenerate.py --check    # render into a temp dir, compare bytes
    python sample_videos/regenerate.py --workers 2 glute_bridge_side.toml
    python sample_videos/regenerate.py --truth-only   # truth format changed, frames did not

Rendering is deterministic (seeded noise, fixed frame order whatever the worker count), and
OpenCV's MPEG-4 encoder writes identical bytes for identical frames, so a check passes
byte-for-byte on the same OpenCV/numpy build (other builds may differ in encoder bytes only).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

from posecheck.synthetic.scenario import (
    dump_truth,
    labels_entry,
    load_scenario,
    prepare,
    render_scenario,
    truth_record,
)

HERE = Path(__file__).resolve().parent


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_labels(directory: Path) -> Path:
    """labels.json beside the clips (from every scenario's truth file, in name order): the
    ../shared/clips/labels.json format plus truth extras."""
    records = [json.loads((directory / f"{p.stem}.truth.json").read_text())
               for p in sorted(directory.glob("*.toml"))
               if (directory / f"{p.stem}.truth.json").exists()]
    path = directory / "labels.json"
    path.write_text(json.dumps([labels_entry(r) for r in records], indent=1) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("scenarios", nargs="*", help="scenario TOMLs (default: all in sample_videos/)")
    ap.add_argument("--check", action="store_true", help="render to a temp dir and compare")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--truth-only", action="store_true",
                    help="rewrite the truth files only (the videos are unchanged)")
    args = ap.parse_args(argv)
    tomls = [Path(s) if Path(s).exists() else HERE / s for s in args.scenarios]
    tomls = tomls or sorted(HERE.glob("*.toml"))
    scenarios = [load_scenario(p) for p in tomls]
    if args.truth_only:
        for s in scenarios:
            old = json.loads((HERE / f"{s.name}.truth.json").read_text())
            record = truth_record(prepare(s), f"{s.name}.mp4", old["codec"])
            (HERE / f"{s.name}.truth.json").write_text(dump_truth(record))
            print(f"wrote {s.name}.truth.json")
        print(f"wrote {write_labels(HERE).name}")
        return 0
    if not args.check:
        records = [render_scenario(s, HERE, workers=args.workers) for s in scenarios]
        for r in records:
            print(f"wrote {r['file']} ({r['frames']} frames, codec {r['codec']})")
        print(f"wrote {write_labels(HERE).name}")
        return 0
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for s in scenarios:
            render_scenario(s, tmp, workers=args.workers)
            for suffix in (".mp4", ".truth.json"):
                new, old = Path(tmp) / f"{s.name}{suffix}", HERE / f"{s.name}{suffix}"
                same = old.exists() and _sha(new) == _sha(old)
                bad += not same
                print(f"{'same' if same else 'DIFFERS'}: {old.name}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

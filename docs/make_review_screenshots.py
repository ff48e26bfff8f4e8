#!/usr/bin/env python3
"""Screenshots of report.html, the review page, at desktop and phone width.

    python docs/make_review_screenshots.py [--clip sample_videos/glute_bridge_mistakes.mp4]

Analyses the clip (the one with form mistakes: cues, a short pause and a partial rep make the
page show everything), opens its report.html in Debian's headless chromium through
chromium-driver, offline, seeks the video to rep 4's top and saves docs/review_desktop.png
(1200 px wide) and docs/review_phone.png (390 px, a phone in portrait).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", type=Path,
                    default=REPO / "sample_videos" / "glute_bridge_mistakes.mp4")
    ap.add_argument("--out", type=Path, default=REPO / "docs")
    ap.add_argument("--rep", type=int, default=4, help="show the video at this rep's top")
    args = ap.parse_args()

    from selenium.webdriver.support.ui import WebDriverWait

    from posecheck.apps.analyse import analyse_video
    from posecheck.testing.browser import full_page_png, offline_chromium

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        analyse_video(args.clip, "glute_bridge", out_dir=out)
        report = json.loads((out / "report.json").read_text())
        top = report["reps"][args.rep - 1]["top_s"]
        for name, width, height, mobile in (("desktop", 1200, 900, False),
                                            ("phone", 390, 844, True)):
            driver = offline_chromium(width, height, Path(tmp) / f"profile-{name}", mobile)
            try:
                driver.get((out / "report.html").as_uri())
                wait = WebDriverWait(driver, 60)
                wait.until(lambda d: d.execute_script(
                    "return document.getElementById('video').readyState >= 2"))
                driver.execute_script(
                    "var v = document.getElementById('video'); window.__done = false;"
                    "v.addEventListener('seeked', function () { window.__done = true; });"
                    f"v.currentTime = {top};")
                wait.until(lambda d: d.execute_script("return window.__done"))
                target = args.out / f"review_{name}.png"
                full_page_png(driver, target, width)
                print(f"wrote {target}")
            finally:
                driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())

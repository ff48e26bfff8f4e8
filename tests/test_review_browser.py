"""The review pages in a real browser: Debian's headless chromium, driven by Selenium through
Debian's chromium-driver, with no network. Skips locally without them; required when CI=true.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from click.testing import CliRunner

from posecheck.cli import main as cli
from posecheck.testing.browser import find_chromium, network_requests, offline_chromium

SAMPLES = Path(__file__).resolve().parents[1] / "sample_videos"
WAIT_S = 60  # generous readiness waits on a loaded 2-core machine (not a speed check)


def _need_browser() -> None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing = "selenium (pip install -e '.[test]')"
    else:
        missing = "" if find_chromium() else "chromium and chromium-driver (apt-get install)"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {missing} is missing")
        pytest.skip(f"{missing} not installed")


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    _need_browser()
    drv = offline_chromium(1200, 900, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield drv
    finally:
        drv.quit()


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _need_browser()
    out = tmp_path_factory.mktemp("analysed")
    result = CliRunner().invoke(cli, ["analyse", str(SAMPLES / "glute_bridge_side.mp4"),
                                      "--out", str(out), "--no-history"])
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file() and (out / "annotated.mp4").is_file()
    return out


def _wait(driver: Any, script: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S, poll_frequency=0.05).until(
        lambda d: d.execute_script(script))


def _open(driver: Any, page: Path) -> None:
    network_requests(driver)  # drop what the browser did before this page
    driver.get(page.as_uri())
    _wait(driver, "var v = document.getElementById('video'); return v && v.readyState >= 2")


def _seek_by(driver: Any, action: Any) -> float:
    """Run `action` (a click or key press) and return video.currentTime when its seek lands."""
    driver.execute_script(
        "window.__seeked = null; var v = document.getElementById('video'); v.pause();"
        "v.addEventListener('seeked', function () { window.__seeked = v.currentTime; },"
        " {once: true});")
    action()
    return float(_wait(driver, "return window.__seeked"))


def test_review_page_in_headless_chromium(driver: Any, analysed: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    report = json.loads((analysed / "report.json").read_text())
    _open(driver, analysed / "report.html")

    # the video and the curve render
    width, duration = driver.execute_script(
        "var v = document.getElementById('video'); return [v.videoWidth, v.duration]")
    assert width > 0 and duration == pytest.approx(report["duration_s"], abs=0.5)
    svg = driver.find_element(By.CSS_SELECTOR, "#chart svg")
    assert svg.size["width"] > 500 and svg.size["height"] > 150
    assert len(driver.find_element(By.CSS_SELECTOR, "#chart path.curve").get_attribute("d")) > 500
    assert len(driver.find_elements(By.CSS_SELECTOR, "#chart rect.rep")) == report["rep_count"]
    assert len(driver.find_elements(By.CSS_SELECTOR, "#chart rect.pause")) == len(report["holds"])

    # clicking rep 3's row moves the video to rep 3's start, and plays it
    rows = driver.find_elements(By.CSS_SELECTOR, "#reps tr[tabindex]")
    assert len(rows) == report["rep_count"] == 5
    start3 = report["reps"][2]["start_s"]
    assert _seek_by(driver, rows[2].click) == pytest.approx(start3, abs=0.1)
    assert "on" in rows[2].get_attribute("class").split()
    _wait(driver, "return !document.getElementById('video').paused")

    # clicking the curve seeks to the time under the pointer (a quarter of the way along)
    box = {k: float(svg.get_attribute(f"data-{k}")) for k in ("x0", "x1", "t0", "t1")}
    x = box["x0"] + 0.25 * (box["x1"] - box["x0"])
    t_expected = box["t0"] + 0.25 * (box["t1"] - box["t0"])
    offset_x = round(x - svg.size["width"] / 2)  # Selenium 4 offsets from the centre
    t = _seek_by(driver, ActionChains(driver).move_to_element_with_offset(svg, offset_x, 0)
                 .click().perform)
    assert t == pytest.approx(t_expected, abs=0.1)
    cursor_x = float(driver.find_element(By.CSS_SELECTOR, "#chart .cursor").get_attribute("x1"))
    assert cursor_x == pytest.approx(x, abs=2)

    # the arrow keys step reps, space plays and pauses
    next_start = min(r["start_s"] for r in report["reps"] if r["start_s"] > t + 0.05)
    body = driver.find_element(By.TAG_NAME, "body")
    assert _seek_by(driver, lambda: body.send_keys(Keys.ARROW_RIGHT)) == pytest.approx(
        next_start, abs=0.1)
    body.send_keys(Keys.SPACE)
    _wait(driver, "return !document.getElementById('video').paused")
    body.send_keys(Keys.SPACE)
    _wait(driver, "return document.getElementById('video').paused")

    # the page made no network request: only the page itself, its video and inline data
    urls = network_requests(driver)
    assert urls and all(u.startswith(("file://", "data:")) for u in urls), urls
    assert any(u.endswith("/annotated.mp4") for u in urls)
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []  # no script error, nothing blocked


def test_batch_index_links_open(driver: Any, tmp_path: Path) -> None:
    out = tmp_path / "batch"
    result = CliRunner().invoke(cli, ["batch", str(SAMPLES), "--out", str(out), "--workers",
                                      "1", "--stride", "3", "--labels",
                                      str(SAMPLES / "labels.json")])
    assert (out / "index.html").is_file(), result.output
    from selenium.webdriver.common.by import By

    network_requests(driver)
    driver.get((out / "index.html").as_uri())
    links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "td a")]
    clips = sorted(p.name for p in SAMPLES.glob("*.mp4"))
    assert len(links) == len(clips) == 4
    for href in links:  # each opens: its curve and table draw, its video link resolves
        driver.get(href)
        _wait(driver, "return document.querySelector('#chart path.curve') !== null")
        report = json.loads((Path(href[len("file://"):]).parent / "report.json").read_text())
        rows = driver.find_elements(By.CSS_SELECTOR, "#reps tr[tabindex]")
        assert len(rows) == report["rep_count"] + report["partial_count"]
        src = driver.execute_script("return document.getElementById('video').currentSrc")
        assert Path(unquote(src[len("file://"):])).is_file()  # the analysed clip itself
    urls = network_requests(driver)
    assert all(u.startswith(("file://", "data:")) for u in urls), urls

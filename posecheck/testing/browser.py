"""Debian's headless chromium, driven by Selenium through Debian's chromium-driver, offline.

For the review page's browser test and its screenshots. Every host resolves to nothing and
any proxy use fails, so a page that tried the network would fail visibly; the DevTools
performance log records each request the page made, for `network_requests`.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

OFFLINE_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--hide-scrollbars", "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
    "--autoplay-policy=no-user-gesture-required",
)


def find_chromium() -> tuple[str, str] | None:
    """(chromium, chromedriver) executables, or None when either is missing."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (exe, driver) if exe and driver else None


def offline_chromium(width: int, height: int, profile: Path, mobile: bool = False) -> Any:
    """A Selenium Chrome driver on the system chromium with a `width`x`height` viewport."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_chromium()
    if found is None:
        raise RuntimeError("chromium and chromedriver are needed (apt-get install chromium-driver)")
    exe, driver = found
    opts = webdriver.ChromeOptions()
    opts.binary_location = exe
    for flag in OFFLINE_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    if mobile:
        opts.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0,
                              "touch": True}})
    else:
        opts.add_argument(f"--window-size={width},{height}")
    drv = webdriver.Chrome(service=Service(driver), options=opts)
    if not mobile:  # the window size includes no browser chrome when headless, but be exact
        drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    return drv


def network_requests(driver: Any) -> list[str]:
    """URLs of every request the browser sent since the last call (DevTools Network log)."""
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def full_page_png(driver: Any, path: Path, width: int) -> Path:
    """A screenshot of the whole page at `width` CSS pixels (the height the page needs).

    The video keeps the height it has in the current viewport (its max-height is in vh, which
    would otherwise grow with the tall viewport this needs).
    """
    driver.execute_script(
        "var v = document.getElementById('video');"
        "if (v) v.style.maxHeight = v.getBoundingClientRect().height + 'px';")
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    driver.execute_script("window.dispatchEvent(new Event('resize'))")
    time.sleep(0.3)  # the chart redraws 100 ms after a resize
    driver.save_screenshot(str(path))
    return path

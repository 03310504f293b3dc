"""The operator page in headless Chromium against the real sidecar, real ROS 2 and a real ACT policy.

The sidecar (uvicorn, in a thread, loopback only) runs a session fed with synthetic camera
frames and joint states over ROS 2; the page must list it, show it running, plot its joint
commands, stop it with the Stop button, and (once ``api/routers/webrtc.py`` exists) play its
camera room over WebRTC. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from api.app import create_app
from tests.support import ThreadedServer

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SESSION = "op1"
CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=1440,1000",
]

# `make test` installs chromium + chromium-driver (scripts/install_system_packages.sh); no silent skip.
pytestmark = [pytest.mark.e2e]


class SyntheticFeed:
    """Synthetic camera frames and joint states on the session's rooms, from this process's own rclpy context."""

    def __init__(self, rooms: dict, joint_names: list[str], image_size: tuple[int, int]) -> None:
        from runtime.ros.executor_thread import RosExecutorThread
        from runtime.ros.synthetic_inputs_node import SyntheticInputsNode

        self.executor = RosExecutorThread(name="test-feed")
        self.node = SyntheticInputsNode(
            {cam: room["topic"] for cam, room in rooms["cameras"].items()},
            rooms["joint_input"]["topic"],
            joint_names,
            image_size=image_size,
            fps=30.0,
            context=self.executor.context,
        )
        self.executor.add_node(self.node)

    def start(self) -> SyntheticFeed:
        self.executor.start()
        self.node.start()
        return self

    def stop(self) -> None:
        self.node.stop()
        self.executor.shutdown()


@dataclass
class Stack:
    server: ThreadedServer
    http: httpx.Client
    driver: Any
    camera_room: str

    def js(self, script: str) -> Any:
        return self.driver.execute_script(script)

    def page_stats(self) -> dict:
        return self.js("return window.runrobotStats || null") or {}

    def card(self, selector: str = "") -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, f'section.session[data-session-id="{SESSION}"] {selector}')

    def wait(self, what: str, check: Callable[[], Any], timeout: float) -> Any:
        """Poll ``check`` until truthy; fail with the page's stats and console on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                logs = [e["message"] for e in self.driver.get_log("browser")][-15:]
                pytest.fail(
                    f"timed out after {timeout:.0f} s waiting for {what}\n"
                    f"runrobotStats: {json.dumps(self.page_stats())}\nbrowser console: {logs}"
                )
            time.sleep(0.2)

    def wait_softly(self, check: Callable[[], Any], timeout: float) -> None:
        """Give the page up to ``timeout`` s to reach ``check`` (for a fuller screenshot); never fails."""
        deadline = time.monotonic() + timeout
        while not check() and time.monotonic() < deadline:
            time.sleep(0.2)

    def frames(self) -> int:
        return self.page_stats().get("framesByRoom", {}).get(self.camera_room, 0)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.driver.save_screenshot(str(path))
        return path


def build_app(data_dir: Path) -> FastAPI:
    """The sidecar as ``runrobot serve`` builds it; WebRTC gathers 127.0.0.1 candidates only."""
    os.environ["RUNROBOT_ICE_LOOPBACK_ONLY"] = "1"
    return create_app(data_dir, enable_ros=True)


def chrome(user_data_dir: str) -> Any:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*CHROME_FLAGS, f"--user-data-dir={user_data_dir}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


@pytest.fixture
def stack(ros_domain: int, small_act_checkpoint: Path, tmp_path: Path) -> Iterator[Stack]:
    """Sidecar + running session fed over ROS 2 + Chromium on /ui."""
    server = ThreadedServer(build_app(tmp_path / "data")).start()
    http = httpx.Client(base_url=server.url, timeout=120)
    feed = driver = None
    try:
        created = http.post(
            "/sessions",
            json={"session_id": SESSION, "policy_path": str(small_act_checkpoint), "camera_names": ["front"]},
        )
        assert created.status_code == 200, created.text
        status = http.get(f"/sessions/{SESSION}").json()
        feed = SyntheticFeed(status["rooms"], status["stats"]["joint_names"], (96, 96)).start()
        assert http.post(f"/sessions/{SESSION}/start").status_code == 200
        driver = chrome(tempfile.mkdtemp(prefix="chromium-", dir=tmp_path))
        driver.get(f"{server.url}/ui")
        yield Stack(server, http, driver, status["rooms"]["cameras"]["front"]["room_id"])
    finally:
        if driver is not None:
            driver.quit()
        if feed is not None:
            feed.stop()
        http.close()
        took = server.stop()
        assert not server.thread.is_alive(), "the sidecar did not shut down"
        assert took < 10, f"the sidecar took {took:.1f} s to shut down"


def test_operator_page_lists_plots_and_stops_session(stack: Stack) -> None:
    stack.wait("the page to list the session", lambda: SESSION in stack.page_stats().get("statusBySession", {}), 30)
    assert stack.card(".sid").get_attribute("textContent") == SESSION
    assert stack.driver.find_element(By.ID, "session-list").get_attribute("textContent").count(SESSION) == 1
    stack.wait("the status to show running", lambda: stack.card(".state").get_attribute("textContent") == "running", 30)
    assert stack.page_stats()["streamState"] == "live"

    # Joint commands reach the plot (one sample per new command seen on the stream, ~10/s).
    stack.wait("joint plot samples", lambda: stack.page_stats()["plotSamples"].get(SESSION, 0) > 20, 60)
    legend = [e.get_attribute("textContent") for e in stack.driver.find_elements(By.CSS_SELECTOR, ".legend .item")]
    assert len(legend) == 6 and legend[0].startswith("shoulder_pan"), legend
    commands = stack.card('[data-stat="commands"] .v').get_attribute("textContent")
    assert int(commands) > 0
    assert stack.page_stats()["plotDraws"] > 10
    stack.wait_softly(lambda: stack.page_stats()["plotSamples"][SESSION] > 40 and stack.frames() > 30, 10)
    path = stack.screenshot("operator_page.png")
    assert path.stat().st_size > 10_000

    # Stop through the page; the API and the page agree.
    stop = stack.card('button[data-action="stop"]')
    assert stop.is_enabled()
    stop.click()
    stack.wait(
        "the API to report the session stopped",
        lambda: stack.http.get(f"/sessions/{SESSION}").json()["status"] == "stopped",
        15,
    )
    stack.wait("the page to show stopped", lambda: stack.card(".state").get_attribute("textContent") == "stopped", 10)
    feedback = stack.card(".feedback").get_attribute("textContent")
    assert "stopped" in feedback, feedback
    assert stack.page_stats()["actions"][-1] == {
        "session": SESSION,
        "action": "stop",
        "ok": True,
        "message": f"inference stopped for session {SESSION}",
    }
    assert not stack.card('button[data-action="stop"]').is_enabled()
    assert stack.card('button[data-action="start"]').is_enabled()
    stack.screenshot("operator_page_stopped.png")


def test_operator_page_plays_camera_over_webrtc(stack: Stack) -> None:
    room = stack.camera_room
    stack.wait("the camera tile", lambda: room in stack.page_stats().get("framesByRoom", {}), 30)
    frames = stack.wait("more than 10 decoded camera frames", lambda: (n := stack.frames()) > 10 and n, 15)
    assert stack.page_stats()["videoStateByRoom"][room] == "playing"
    label = stack.driver.find_element(By.CSS_SELECTOR, f'figure.camera[data-room="{room}"] .frames')
    assert "frames" in label.get_attribute("textContent")
    width = stack.js(f"return document.querySelector('figure.camera[data-room=\"{room}\"] video').videoWidth")
    assert width > 0, f"{frames} frames counted but the video has no size"
    stack.screenshot("operator_page_video.png")

"""The operator page: self-contained HTML/JS/CSS, static content types, and the SSE stream."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.routers import ui
from runtime.session.session import JointCommand
from tests.support import ThreadedServer

URL = re.compile(r"""https?://([^/\s"'`)<>]+)""", re.IGNORECASE)
ASSET_REF = re.compile(r"""(?:src|href)="([^"]+)\"""")
JS_IMPORT = re.compile(r"""(?:import|from)\s*["']\./([\w./-]+)["']""")
STREAM_FIELDS = {
    "id",
    "status",
    "status_reason",
    "last_command",
    "queue_depth",
    "chunks",
    "starved_ticks",
    "stale_input_pauses",
    "commands_published",
    "cameras",
}


def ui_app(data_dir: Path) -> FastAPI:
    """The sidecar without ROS 2, with the UI router included."""
    return create_app(data_dir, enable_ros=False)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(ui_app(tmp_path / "data")) as c:
        yield c


def parse_sse(text: str) -> list[dict]:
    """Split server-sent events text into a list of {field: value} dicts (data joined by newlines)."""
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            fields[name] = f"{fields[name]}\n{value}" if name in fields else value
        if fields:
            events.append(fields)
    return events


def test_ui_page_and_assets_have_no_external_urls(client: TestClient) -> None:
    page = client.get("/ui")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<canvas class="joint-plot">' in page.text and '<canvas class="queue-plot">' in page.text
    refs = ASSET_REF.findall(page.text)
    assets = [r for r in refs if r.startswith("/ui/static/")]
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets), refs
    for ref in refs:
        assert ref.startswith(("/", "#", "data:")), f"non-local reference {ref!r} in /ui"
    texts = {"/ui": page.text}
    pending = list(assets)
    while pending:
        path = pending.pop()
        if path in texts:
            continue
        resp = client.get(path)
        assert resp.status_code == 200, path
        texts[path] = resp.text
        if path.endswith(".js"):
            pending += [f"/ui/static/{name}" for name in JS_IMPORT.findall(resp.text)]
    assert {"/ui/static/app.js", "/ui/static/plot.js", "/ui/static/camera.js"} <= set(texts)
    for path, text in texts.items():
        hosts = {m.group(1).split(":")[0] for m in URL.finditer(text)}
        assert hosts <= {"127.0.0.1", "localhost"}, f"{path} refers to other hosts: {hosts}"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/ui/static/app.js", "text/javascript"),
        ("/ui/static/plot.js", "text/javascript"),
        ("/ui/static/camera.js", "text/javascript"),
        ("/ui/static/ui.css", "text/css"),
        ("/ui/static/index.html", "text/html"),
    ],
)
def test_static_content_types(client: TestClient, path: str, content_type: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 200
    assert resp.headers["content-type"].split(";")[0] == content_type


@pytest.mark.parametrize("path", ["/ui/static/missing.js", "/ui/static/../routers/ui.py", "/ui/static/%2e%2e/app.py"])
def test_static_rejects_missing_and_outside_files(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_ui_routes_stay_out_of_the_openapi_spec(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/ui")]


def test_stream_event_lists_sessions(tmp_path: Path, small_act_checkpoint: Path) -> None:
    with TestClient(ui_app(tmp_path / "data")) as c:
        created = c.post(
            "/sessions", json={"session_id": "ui1", "policy_path": str(small_act_checkpoint), "camera_names": ["front"]}
        )
        assert created.status_code == 200, created.text
        assert c.post("/sessions/ui1/start").status_code == 200
        # No inputs without ROS 2, so the loop stays paused and this command stays the latest.
        session = c.app.state.manager.get("ui1").session
        names = list(session.normalizer.joint_names)
        session.last_command = JointCommand(names, np.linspace(-50, 50, len(names)), 42, time.monotonic())

        resp = c.get("/ui/stream", params={"limit": 3, "interval": 0.05})
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(resp.text)
        assert events[0] == {"retry": str(ui.RETRY_MS)}
        data_events = [e for e in events if "data" in e]
        assert [e["id"] for e in data_events] == ["0", "1", "2"]
        payload = json.loads(data_events[-1]["data"])
        assert payload["tick"] == 2 and payload["t"] == pytest.approx(time.time(), abs=30)
        (snap,) = payload["sessions"]
        assert set(snap) >= STREAM_FIELDS
        assert snap["id"] == "ui1"
        assert snap["status"] == "running"
        assert snap["status_reason"].startswith("paused")
        assert snap["cameras"] == {"front": "ui1_camera_front"}
        assert snap["last_command"]["names"] == names
        assert snap["last_command"]["timestep"] == 42
        assert snap["last_command"]["positions"] == pytest.approx(np.linspace(-50, 50, len(names)).tolist(), abs=0.01)
        assert snap["stale_input_pauses"] >= 1
        for key in ("queue_depth", "chunks", "starved_ticks", "commands_published"):
            assert isinstance(snap[key], int), key


def test_stream_with_no_sessions(client: TestClient) -> None:
    events = [e for e in parse_sse(client.get("/ui/stream?limit=1").text) if "data" in e]
    assert json.loads(events[0]["data"])["sessions"] == []


def read_first_event(chunks: Iterator[str]) -> dict:
    """The first data event's JSON from an SSE text stream (the iterator stays usable)."""
    buf = ""
    for chunk in chunks:
        buf += chunk
        for event in parse_sse(buf.rsplit("\n\n", 1)[0]):
            if "data" in event:
                return json.loads(event["data"])
    raise AssertionError("stream ended before the first event")


def test_stream_ends_on_client_disconnect(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    finished = threading.Event()
    events = ui.session_events

    async def tracked(*args, **kwargs) -> AsyncIterator[str]:
        try:
            async for item in events(*args, **kwargs):
                yield item
        finally:
            finished.set()

    monkeypatch.setattr(ui, "session_events", tracked)
    server = ThreadedServer(ui_app(tmp_path / "data")).start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http, http.stream("GET", "/ui/stream") as resp:
            chunks = resp.iter_text()  # keep it: a dropped iterator closes the connection when collected
            assert read_first_event(chunks)["sessions"] == []
            time.sleep(0.3)
            assert not finished.is_set(), "the stream ended while the client was still reading"
        assert finished.wait(3), "the stream kept running after the client left"
    finally:
        server.stop()


def test_stream_does_not_block_server_shutdown(tmp_path: Path) -> None:
    server = ThreadedServer(ui_app(tmp_path / "data")).start()
    ended = threading.Event()
    got_event = threading.Event()

    def listen() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as http, http.stream("GET", "/ui/stream") as resp:
            chunks = resp.iter_text()
            read_first_event(chunks)
            got_event.set()
            for _ in chunks:
                pass
        ended.set()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert got_event.wait(10)
    took = server.stop()
    assert not server.thread.is_alive()
    assert took < 3, f"uvicorn took {took:.1f} s to stop with a stream open"
    assert ended.wait(5), "the client stream did not end with the server"

"""``runrobot demo``: the whole loop on a simulated SO-101, no hardware.

Creates an ACT checkpoint if none exists, starts ``runrobot serve`` and ``runrobot sim``,
creates and starts a session, and prints the operator page's URL. Ctrl-C stops every
child in order, so no process and no DDS shared-memory file is left behind.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
import webbrowser
from pathlib import Path

from runrobot.children import ChildProcesses, http_json, wait_for_http

DEMO_SESSION = "demo"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="serve + simulated SO-101 + ACT session, no hardware")
    p.add_argument("--port", type=int, default=8001)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--duration", type=float, default=0.0, help="seconds to run (0 = until Ctrl-C)")
    p.set_defaults(func=run)


def has_display() -> bool:
    """A graphical session to open a browser in (never a terminal browser on a headless box)."""
    return sys.platform == "darwin" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def wait_for_sim(base: str, timeout: float = 120.0) -> None:
    """Until the session reports sim telemetry (the sim has joined the rooms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_json("GET", f"{base}/sessions/{DEMO_SESSION}")["stats"].get("sim"):
            return
        time.sleep(0.5)
    raise TimeoutError(f"the simulator did not join session {DEMO_SESSION} within {timeout:.0f}s")


def run(args: argparse.Namespace) -> int:
    from api.app import default_data_dir
    from runtime.policies.act.checkpoint import init_act_checkpoint

    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    ckpt = data_dir / "policies" / "act_so101_front_224"
    if not (ckpt / "config.json").is_file():
        print(f"creating ACT checkpoint at {ckpt} (runrobot policy init-act) ...", flush=True)
        init_act_checkpoint(ckpt, robot="so101", cameras=["front"], image_size=(224, 224))
    base = f"http://127.0.0.1:{args.port}"
    children = ChildProcesses()
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        server = children.start("serve", "serve", "--port", str(args.port), "--data-dir", str(data_dir))
        wait_for_http(f"{base}/health", proc=server)
        if DEMO_SESSION in {s["session_id"] for s in http_json("GET", f"{base}/sessions")}:
            http_json("DELETE", f"{base}/sessions/{DEMO_SESSION}")
        http_json("POST", f"{base}/sessions", {"session_id": DEMO_SESSION, "policy_path": str(ckpt)})
        children.start("sim", "sim", "--robot", "so101", "--session", DEMO_SESSION, "--server", base)
        wait_for_sim(base)
        http_json("POST", f"{base}/sessions/{DEMO_SESSION}/start")
        url = f"{base}/ui"
        print(f"\nrunrobot demo: open {url}\n", flush=True)
        if not args.no_browser and has_display():
            webbrowser.open(url)
        end = time.monotonic() + args.duration if args.duration else None
        while not done.wait(1.0):
            children.check_alive()
            if end and time.monotonic() > end:
                break
    finally:
        print("runrobot demo: stopping ...", flush=True)
        children.stop_all()
    return 0

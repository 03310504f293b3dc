"""``runrobot demo``: the whole loop with no hardware.

Creates an ACT checkpoint if none exists, starts ``runrobot serve``, creates and starts a
session, and feeds it. Until the simulated robot lands, the feed is the synthetic input
publisher (``runrobot feed``). Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from pathlib import Path

from runrobot.children import ChildProcesses, http_json, wait_for_http

DEMO_SESSION = "demo"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="serve + demo session + input feed, no hardware")
    p.add_argument("--port", type=int, default=8001)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--no-browser", action="store_true", help="do not try to open a browser")
    p.add_argument("--duration", type=float, default=0.0, help="seconds to run (0 = until Ctrl-C)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from api.app import default_data_dir
    from runtime.policies.act.checkpoint import init_act_checkpoint

    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    ckpt = data_dir / "policies" / "act_so101_front_224"
    if not (ckpt / "config.json").is_file():
        print(f"creating ACT checkpoint at {ckpt} ...", flush=True)
        init_act_checkpoint(ckpt, robot="so101", cameras=["front"], image_size=(224, 224))
    base = f"http://127.0.0.1:{args.port}"
    children = ChildProcesses()
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        server = children.start("serve", "serve", "--port", str(args.port), "--data-dir", str(data_dir))
        wait_for_http(f"{base}/health", proc=server)
        existing = {s["session_id"] for s in http_json("GET", f"{base}/sessions")}
        if DEMO_SESSION in existing:
            http_json("DELETE", f"{base}/sessions/{DEMO_SESSION}")
        http_json("POST", f"{base}/sessions", {"session_id": DEMO_SESSION, "policy_path": str(ckpt)})
        children.start("feed", "feed", "--server", base, "--session", DEMO_SESSION)
        http_json("POST", f"{base}/sessions/{DEMO_SESSION}/start")
        print(f"\nrunrobot demo is running: {base}/sessions/{DEMO_SESSION}  (API docs: {base}/docs)\n", flush=True)
        end = time.monotonic() + args.duration if args.duration else None
        while not done.wait(1.0):
            children.check_alive()
            if end and time.monotonic() > end:
                break
    finally:
        children.stop_all()
    return 0

"""``runrobot serve``: the sidecar (FastAPI on uvicorn) plus its ROS 2 node, in one process."""

from __future__ import annotations

import argparse

import uvicorn


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the sidecar (REST + ROS 2 node)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001)
    p.add_argument(
        "--data-dir", default=None, help="SQLite and files (default $RUNROBOT_DATA_DIR or ~/.local/share/runrobot)"
    )
    p.add_argument("--session-config", default=None, help="session defaults YAML (default config/session.yaml)")
    p.add_argument("--no-ros", action="store_true", help="run without ROS 2 (sessions get no topics)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from api.app import create_app

    app = create_app(args.data_dir, args.session_config, enable_ros=not args.no_ros)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, timeout_graceful_shutdown=5)
    return 0

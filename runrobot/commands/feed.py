"""``runrobot feed``: publish synthetic camera images and joint states into a session's rooms."""

from __future__ import annotations

import argparse
import json
import time
import urllib.error
import urllib.request

from runrobot.ros_process import init_ros, run_until_signalled


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("feed", help="publish synthetic inputs into a session's ROS 2 rooms")
    p.add_argument("--server", default="http://127.0.0.1:8001", help="sidecar URL to look the rooms up")
    p.add_argument("--session", help="session id (rooms are looked up on --server)")
    p.add_argument("--camera", action="append", default=[], metavar="NAME=TOPIC", help="explicit camera room topic")
    p.add_argument("--joint-topic", help="explicit joint-input room topic")
    p.add_argument("--robot", default="so101", help="robot profile for joint names with explicit topics")
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--image-size", default="224x224", help="HxW")
    p.add_argument("--compressed", action="store_true", help="publish JPEG CompressedImage")
    p.add_argument("--encoding", default="rgb8", choices=["rgb8", "bgr8"])
    p.add_argument("--duration", type=float, default=0.0, help="seconds (0 = until Ctrl-C)")
    p.set_defaults(func=run)


def session_status(server: str, session_id: str) -> dict:
    with urllib.request.urlopen(f"{server.rstrip('/')}/sessions/{session_id}", timeout=10) as resp:
        return json.loads(resp.read())


def wait_for_session(server: str, session_id: str, timeout: float) -> dict:
    """The session's status once the server answers and the session exists (it may be created later)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return session_status(server, session_id)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            if time.monotonic() > deadline:
                msg = f"session {session_id!r} not available on {server} after {timeout:.0f}s: {exc}"
                raise TimeoutError(msg) from exc
            time.sleep(0.5)


def run(args: argparse.Namespace) -> int:
    from runtime.policies.act.checkpoint import parse_image_size
    from runtime.robots import load_robot_profile
    from runtime.ros.synthetic_inputs_node import SyntheticInputsNode

    if args.camera or args.joint_topic:
        if not (args.camera and args.joint_topic):
            raise ValueError("--camera and --joint-topic go together")
        cameras = dict(c.split("=", 1) for c in args.camera)
        joint_topic = args.joint_topic
        joint_names = load_robot_profile(args.robot).joint_names
        label = joint_topic
    elif args.session:
        status = session_status(args.server, args.session)
        cameras = {cam: room["topic"] for cam, room in status["rooms"]["cameras"].items()}
        joint_topic = status["rooms"]["joint_input"]["topic"]
        joint_names = status["stats"].get("joint_names") or load_robot_profile(args.robot).joint_names
        label = f"session {args.session}"
    else:
        raise ValueError("give --session, or --camera NAME=TOPIC and --joint-topic")
    init_ros()
    node = SyntheticInputsNode(
        cameras,
        joint_topic,
        joint_names,
        image_size=parse_image_size(args.image_size),
        fps=args.fps,
        compressed=args.compressed,
        encoding=args.encoding,
    )

    def announce() -> None:
        node.start()
        print(f"feeding {label}: cameras {list(cameras)} + joints at {args.fps} Hz", flush=True)

    run_until_signalled(node, announce, node.stop, args.duration)
    print(f"published {node.published} input sets", flush=True)
    return 0

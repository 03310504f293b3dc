"""``runrobot sim``: the simulated arm for an existing session, on its ROS 2 rooms."""

from __future__ import annotations

import argparse

from runrobot.commands.feed import wait_for_session
from runrobot.ros_process import init_ros, run_until_signalled


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim", help="run the MuJoCo-simulated arm for a session")
    p.add_argument("--robot", default="so101", help="robot profile (so101)")
    p.add_argument("--session", required=True, help="session id whose rooms the sim joins")
    p.add_argument("--server", default="http://127.0.0.1:8001", help="sidecar URL to look the rooms up")
    p.add_argument("--fps", type=float, default=None, help="camera/joint-state rate (default: the session's fps)")
    p.add_argument("--no-decimate", action="store_true", help="render the full-resolution meshes (slower)")
    p.add_argument("--duration", type=float, default=0.0, help="seconds (0 = until Ctrl-C)")
    p.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the server and session")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from runtime.robots import JointNormalizer, load_robot_profile
    from runtime.rooms import SessionRooms
    from runtime.ros.arm_sim_node import ArmSimNode
    from runtime.sim.arm_sim import ArmSim

    status = wait_for_session(args.server, args.session, args.wait)
    rooms = SessionRooms.build(args.session, status["workspace_id"], status["camera_names"])
    shapes = {cam: tuple(shape) for cam, shape in status["stats"].get("camera_shapes", {}).items()}
    cameras = {cam: shapes.get(cam, (224, 224)) for cam in status["camera_names"]}
    fps = args.fps or float(status["stats"].get("fps") or 30.0)

    profile = load_robot_profile(args.robot)
    sim = ArmSim(profile.name, cameras=cameras, decimate=not args.no_decimate)
    print(sim.startup_report(), flush=True)

    init_ros()
    node = ArmSimNode(
        sim,
        JointNormalizer(profile),
        {cam: room.topic for cam, room in rooms.cameras.items()},
        rooms.joint_input.topic,
        rooms.joint_output.topic,
        telemetry_topic=rooms.telemetry_topic("sim"),
        fps=fps,
    )

    def announce() -> None:
        node.start()
        print(f"sim {profile.name} joined session {args.session}: cameras {list(cameras)} at {fps:.0f} Hz", flush=True)

    run_until_signalled(node, announce, node.stop, args.duration)
    print(f"sim stopped: {node.telemetry()}", flush=True)
    return 0

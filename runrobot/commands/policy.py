"""``runrobot policy init-act``: write a fresh ACT checkpoint that lerobot loads."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("policy", help="policy tools")
    psub = p.add_subparsers(dest="policy_command", required=True)
    init = psub.add_parser("init-act", help="create an ACT checkpoint (random weights, stats from the robot profile)")
    init.add_argument("--robot", default="so101")
    init.add_argument("--cameras", default="front", help="comma-separated camera names")
    init.add_argument("--image-size", default="224x224", help="HxW")
    init.add_argument("--chunk-size", type=int, default=100)
    init.add_argument("--fps", type=int, default=30)
    init.add_argument("--seed", type=int, default=0)
    init.add_argument("--out", required=True, help="checkpoint directory to write")
    init.set_defaults(func=run_init_act)


def run_init_act(args: argparse.Namespace) -> int:
    from runtime.policies.act.checkpoint import init_act_checkpoint, parse_image_size

    cameras = [c.strip() for c in args.cameras.split(",") if c.strip()]
    out = init_act_checkpoint(
        args.out,
        robot=args.robot,
        cameras=cameras,
        image_size=parse_image_size(args.image_size),
        chunk_size=args.chunk_size,
        fps=args.fps,
        seed=args.seed,
    )
    print(json.dumps({"checkpoint": str(out), "robot": args.robot, "cameras": cameras, "image_size": args.image_size}))
    return 0

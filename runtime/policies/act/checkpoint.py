"""Write a fresh ACT checkpoint (random weights, stats from the robot profile).

The hub is unreachable, so this is how users and tests get a checkpoint that lerobot loads.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from runtime.policies.act.configuration_act import RUNROBOT_METADATA_FILE, build_act_config, profile_stats
from runtime.robots.profile import load_robot_profile


def parse_image_size(text: str) -> tuple[int, int]:
    """``"224x224"`` -> (height, width); ``HxW`` order."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"image size {text!r} must look like 224x224 (HxW)") from None
    if h < 32 or w < 32 or h > 2160 or w > 3840:
        raise ValueError(f"image size {text!r} out of range (32..2160 x 32..3840)")
    return h, w


def init_act_checkpoint(
    out_dir: str | Path,
    robot: str = "so101",
    cameras: tuple[str, ...] | list[str] = ("front",),
    image_size: tuple[int, int] = (224, 224),
    chunk_size: int = 100,
    fps: int = 30,
    seed: int = 0,
) -> Path:
    """Create ``out_dir`` holding an ACT checkpoint loadable by ``ACTPolicy.from_pretrained``."""
    from lerobot.policies.act.modeling_act import ACTPolicy
    from lerobot.policies.factory import make_pre_post_processors

    profile = load_robot_profile(robot)
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = build_act_config(profile, list(cameras), image_size, chunk_size)
    policy = ACTPolicy(config)
    pre, post = make_pre_post_processors(config, dataset_stats=profile_stats(profile, list(cameras)))
    policy.save_pretrained(out)
    pre.save_pretrained(out)
    post.save_pretrained(out)
    meta = {
        "robot": profile.name,
        "joint_names": profile.joint_names,
        "cameras": {cam: list(image_size) for cam in cameras},
        "fps": fps,
        "chunk_size": chunk_size,
        "weights": f"random (seed {seed}); created by runrobot policy init-act",
    }
    (out / RUNROBOT_METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return out

"""Build ACT configs and normalization stats for a robot profile (no downloads)."""

from __future__ import annotations

import math

import torch
from lerobot.configs.types import FeatureType, PolicyFeature
from lerobot.policies.act.configuration_act import ACTConfig

from runtime.robots.normalization import GRIPPER_RANGE, JOINT_RANGE
from runtime.robots.profile import RobotProfile

STATE_KEY = "observation.state"
ACTION_KEY = "action"
IMAGE_KEY_PREFIX = "observation.images."
RUNROBOT_METADATA_FILE = "runrobot.json"

# ImageNet statistics: what the ResNet backbone of ACT expects after scaling to 0..1.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def image_key(camera: str) -> str:
    return f"{IMAGE_KEY_PREFIX}{camera}"


def build_act_config(
    profile: RobotProfile,
    cameras: list[str],
    image_size: tuple[int, int],
    chunk_size: int = 100,
) -> ACTConfig:
    """An ACTConfig for ``profile`` with one RGB input per camera; backbone weights never download."""
    height, width = image_size
    inputs = {STATE_KEY: PolicyFeature(type=FeatureType.STATE, shape=(profile.dof,))}
    for cam in cameras:
        inputs[image_key(cam)] = PolicyFeature(type=FeatureType.VISUAL, shape=(3, height, width))
    return ACTConfig(
        input_features=inputs,
        output_features={ACTION_KEY: PolicyFeature(type=FeatureType.ACTION, shape=(profile.dof,))},
        chunk_size=chunk_size,
        n_action_steps=chunk_size,
        pretrained_backbone_weights=None,
        device="cpu",
        push_to_hub=False,
    )


def profile_stats(profile: RobotProfile, cameras: list[str]) -> dict[str, dict[str, torch.Tensor]]:
    """Normalization stats that treat each joint as uniform over its normalized range."""
    lows = torch.tensor([GRIPPER_RANGE[0] if j.gripper else JOINT_RANGE[0] for j in profile.joints])
    highs = torch.tensor([GRIPPER_RANGE[1] if j.gripper else JOINT_RANGE[1] for j in profile.joints])
    joint_stats = {
        "mean": (lows + highs) / 2,
        "std": (highs - lows) / math.sqrt(12.0),
        "min": lows,
        "max": highs,
    }
    stats: dict[str, dict[str, torch.Tensor]] = {
        STATE_KEY: {k: v.clone() for k, v in joint_stats.items()},
        ACTION_KEY: {k: v.clone() for k, v in joint_stats.items()},
    }
    for cam in cameras:
        stats[image_key(cam)] = {
            "mean": torch.tensor(IMAGENET_MEAN).view(3, 1, 1),
            "std": torch.tensor(IMAGENET_STD).view(3, 1, 1),
            "min": torch.zeros(3, 1, 1),
            "max": torch.ones(3, 1, 1),
        }
    return stats

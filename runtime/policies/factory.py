"""Choose and load a policy implementation from a checkpoint directory."""

from __future__ import annotations

import json
from pathlib import Path

from runtime.policies.base import ChunkPolicy, PolicyLoadError


def load_policy(path: str | Path, device: str = "cpu") -> ChunkPolicy:
    """Load the checkpoint at ``path``; raise ``PolicyLoadError`` with the reason on failure."""
    ckpt = Path(path).expanduser()
    if not ckpt.exists():
        raise PolicyLoadError(f"policy_path {str(path)!r} does not exist")
    if not ckpt.is_dir():
        raise PolicyLoadError(f"policy_path {str(path)!r} is not a checkpoint directory")
    config_file = ckpt / "config.json"
    if not config_file.is_file():
        raise PolicyLoadError(f"policy_path {str(path)!r} has no config.json (not a LeRobot checkpoint)")
    try:
        policy_type = json.loads(config_file.read_text()).get("type")
    except (json.JSONDecodeError, AttributeError) as exc:
        raise PolicyLoadError(f"{config_file}: invalid JSON: {exc}") from exc
    if policy_type == "act":
        from runtime.policies.act.modeling_act import ActChunkPolicy

        return ActChunkPolicy(ckpt, device=device)
    raise PolicyLoadError(f"{config_file}: policy type {policy_type!r} is not supported (supported: act)")

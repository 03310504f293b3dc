"""Run a LeRobot ACT checkpoint: ``ACTPolicy.from_pretrained`` plus its saved processors."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from runtime.observation import Observation
from runtime.policies.act.configuration_act import (
    ACTION_KEY,
    IMAGE_KEY_PREFIX,
    RUNROBOT_METADATA_FILE,
    STATE_KEY,
)
from runtime.policies.base import ChunkPolicy, PolicyIO, PolicyLoadError

log = logging.getLogger(__name__)


class ActChunkPolicy(ChunkPolicy):
    """ACT predicting a full action chunk per call, with lerobot's pre/post processors."""

    kind = "act"

    def __init__(self, path: Path, device: str = "cpu") -> None:
        from lerobot.policies.act.modeling_act import ACTPolicy
        from lerobot.policies.factory import make_pre_post_processors

        self.path = path
        try:
            policy = ACTPolicy.from_pretrained(str(path), local_files_only=True)
            policy.config.pretrained_backbone_weights = None
            policy.to(device)
            policy.eval()
            pre, post = make_pre_post_processors(policy.config, pretrained_path=str(path))
        except Exception as exc:  # lerobot raises many types; the reason goes to the caller
            raise PolicyLoadError(f"could not load ACT checkpoint {str(path)!r}: {type(exc).__name__}: {exc}") from exc
        self.policy = policy
        self.preprocessor = pre
        self.postprocessor = post
        self.device = device
        self.io = self._describe(policy.config, path)

    @staticmethod
    def _describe(config: Any, path: Path) -> PolicyIO:
        cameras: dict[str, tuple[int, int]] = {}
        for key, feat in config.input_features.items():
            if key.startswith(IMAGE_KEY_PREFIX):
                _, h, w = feat.shape
                cameras[key.removeprefix(IMAGE_KEY_PREFIX)] = (int(h), int(w))
        if STATE_KEY not in config.input_features:
            raise PolicyLoadError(f"ACT checkpoint {str(path)!r} has no {STATE_KEY} input")
        meta_file = path / RUNROBOT_METADATA_FILE
        meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
        names = meta.get("joint_names")
        return PolicyIO(
            camera_shapes=cameras,
            state_dim=int(config.input_features[STATE_KEY].shape[0]),
            action_dim=int(config.output_features[ACTION_KEY].shape[0]),
            chunk_size=int(config.chunk_size),
            robot=meta.get("robot"),
            fps=meta.get("fps"),
            joint_names=tuple(names) if names else None,
        )

    def to_batch(self, observation: Observation) -> dict[str, torch.Tensor]:
        """Raw (unnormalized, unbatched) tensors in lerobot's key layout."""
        batch = {STATE_KEY: torch.as_tensor(np.asarray(observation.state, dtype=np.float32))}
        for cam in self.io.camera_shapes:
            img = torch.from_numpy(np.ascontiguousarray(observation.images[cam]))
            batch[f"{IMAGE_KEY_PREFIX}{cam}"] = img.permute(2, 0, 1).to(torch.float32).div_(255.0)
        return batch

    def prepare(self, observation: Observation) -> dict[str, Any]:
        """The preprocessed batch that ``predict_action_chunk`` consumes."""
        return self.preprocessor(self.to_batch(observation))

    def predict_chunk(self, observation: Observation) -> np.ndarray:
        with torch.inference_mode():
            batch = self.prepare(observation)
            start = time.perf_counter()
            actions = self.policy.predict_action_chunk(batch)
            self.model_seconds = time.perf_counter() - start
            actions = self.postprocessor(actions)
        return actions[0].to("cpu", torch.float64).numpy()

    def reset(self) -> None:
        self.policy.reset()

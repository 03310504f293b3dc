"""The small interface every chunking policy implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from runtime.observation import Observation


class PolicyLoadError(ValueError):
    """A policy checkpoint could not be loaded; the message says why."""


@dataclass(frozen=True)
class PolicyIO:
    """What a policy consumes and produces.

    ``camera_shapes`` maps camera name -> (height, width); ``robot`` and ``fps`` are the
    checkpoint's own when it records them.
    """

    camera_shapes: dict[str, tuple[int, int]]
    state_dim: int
    action_dim: int
    chunk_size: int
    robot: str | None = None
    fps: float | None = None
    joint_names: tuple[str, ...] | None = None


class ChunkPolicy(ABC):
    """Predicts ``(chunk_size, action_dim)`` normalized actions from one observation."""

    kind: str = "base"
    io: PolicyIO
    model_seconds: float | None = None  # the bare model call of the last prediction, when measured

    @abstractmethod
    def predict_chunk(self, observation: Observation) -> np.ndarray:
        """Return the chunk for ``observation``; may block for the inference time."""

    def reset(self) -> None:  # noqa: B027 - optional hook
        """Forget any internal state between episodes."""

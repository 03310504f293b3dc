"""The observation a policy predicts from: latest frame per camera plus joint state."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Observation:
    """A snapshot of the session's inputs taken at control tick ``timestep``.

    ``images`` are RGB uint8 arrays (H, W, 3); ``state`` holds normalized joint values in
    the robot profile's order; ``timestamp`` is the monotonic time of the snapshot and
    ``input_times`` the receive time of each input.
    """

    images: dict[str, np.ndarray]
    state: np.ndarray
    timestamp: float
    timestep: int = 0
    input_times: dict[str, float] = field(default_factory=dict)

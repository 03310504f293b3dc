"""The two seams between WebRTC and the room transport (ROS 2 topics in the sidecar).

WebRTC code only sees these protocols, so it runs and tests without ROS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

FrameCallback = Callable[[np.ndarray], None]
"""Receives an (H, W, 3) uint8 RGB frame; called on the transport's thread."""

Unsubscribe = Callable[[], None]


class FrameSource(Protocol):
    """Delivers the frames published on a room topic."""

    def subscribe(self, topic: str, on_frame: FrameCallback) -> Unsubscribe:
        """Call ``on_frame`` for each frame on ``topic`` until the returned function is called."""
        ...


class FramePublisher(Protocol):
    def publish(self, rgb: np.ndarray) -> None: ...

    def close(self) -> None: ...


class FrameSink(Protocol):
    """Publishes frames into a room topic."""

    def advertise(self, topic: str) -> FramePublisher: ...

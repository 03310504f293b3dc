"""Session defaults, read from ``config/session.yaml``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field

from runtime import CONFIG_DIR

DEFAULT_SETTINGS_FILE = CONFIG_DIR / "session.yaml"


class SessionSettings(BaseModel):
    """How a session runs; a checkpoint's own robot and fps override ``robot`` and ``fps``."""

    robot: str = "so101"
    fps: float = Field(30.0, gt=0, le=1000)
    stale_after_s: float = Field(0.5, gt=0)
    aggregate_fn: Literal["latest_only", "weighted_average", "average", "conservative", "temporal_ensemble"] = (
        "weighted_average"
    )
    chunk_size_threshold: float = Field(0.5, ge=0, le=1)
    temporal_ensemble_coeff: float = Field(0.01, ge=0)
    max_consecutive_inference_errors: int = Field(5, ge=1)


def load_session_settings(path: str | Path | None = None) -> SessionSettings:
    file = Path(path) if path else DEFAULT_SETTINGS_FILE
    data = yaml.safe_load(file.read_text()) if file.is_file() else {}
    return SessionSettings.model_validate(data or {})

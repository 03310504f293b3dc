"""``SceneTransform``: position (3), quaternion (4, x y z w as in glTF) and scale (3), all finite."""

from __future__ import annotations

import json
import math
from typing import Any

from api.cloud.errors import CloudError

TRANSFORM_SIZES = {"position": 3, "quaternion": 4, "scale": 3}


def identity_transform() -> dict[str, list[float]]:
    return {"position": [0.0, 0.0, 0.0], "quaternion": [0.0, 0.0, 0.0, 1.0], "scale": [1.0, 1.0, 1.0]}


def parse_transform_text(text: str | None) -> dict | None:
    """The ``transform`` form field (JSON text) as a dict; None when blank; 400 on bad JSON."""
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CloudError(400, f"transform is not valid JSON: {exc}.") from exc
    if not isinstance(value, dict):
        raise CloudError(400, "transform must be a JSON object with position, quaternion and scale.")
    return value


def _vector(value: Any, key: str, size: int) -> list[float]:
    if not isinstance(value, list) or len(value) != size:
        raise CloudError(400, f"transform.{key} must be a list of {size} numbers.")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise CloudError(400, f"transform.{key} must contain {size} finite numbers, got {v!r}.")
        out.append(float(v))
    return out


def validate_transform(value: dict | None) -> dict[str, list[float]]:
    """A complete, finite ``SceneTransform``; identity when None; 400 otherwise."""
    if value is None:
        return identity_transform()
    if not isinstance(value, dict):
        raise CloudError(400, "transform must be an object with position, quaternion and scale.")
    unknown = sorted(set(value) - set(TRANSFORM_SIZES))
    missing = [k for k in TRANSFORM_SIZES if k not in value]
    if unknown or missing:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unknown {', '.join(unknown)}"] if unknown else []
        )
        raise CloudError(400, f"transform must have exactly position, quaternion and scale ({'; '.join(parts)}).")
    out = {key: _vector(value[key], key, size) for key, size in TRANSFORM_SIZES.items()}
    if math.hypot(*out["quaternion"]) < 1e-9:
        raise CloudError(400, "transform.quaternion must not be all zeros (identity is [0, 0, 0, 1]).")
    if any(s == 0 for s in out["scale"]):
        raise CloudError(400, "transform.scale must not contain zeros.")
    return out

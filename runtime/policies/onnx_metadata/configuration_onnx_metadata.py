"""The ``onnx_metadata_v1`` policy config: observation/action layout and control period.

The config is a JSON object (or the model's ONNX metadata properties, each value JSON or
comma-separated text; config keys win over metadata keys):

``observationLayout`` (required)
    The observation vector, in order: ``[{"name": "base_ang_vel", "size": 3}, ...]``, or an
    object ``{"base_ang_vel": 3, ...}``, or a list of names (size 1 each). The sizes add up to
    the last dimension of the model's observation input.
``actionLayout`` (required)
    The action vector, in order, in the same forms (a list of joint names is one value per
    joint). The sizes add up to the last dimension of the model's action output.
``controlDt`` (required)
    Seconds between two policy steps, ``0 < controlDt <= 1``.
``defaultJointPositions`` (optional)
    One number per action value: the offset the scaled action is added to.
``actionScale`` (optional)
    A number, or one number per action value.
``jointNames`` (optional)
    One name per action value (defaults to ``actionLayout`` names when they are all size 1).
``observationInput`` / ``actionOutput`` (optional)
    Model tensor names; needed only when the model has several inputs/outputs and the
    sizes alone do not pick them.
``observationScales`` (optional)
    ``{"<observationLayout name>": number or one number per value}``: what the runtime
    multiplies each observation term by (default 1).
``gaitPeriod`` (optional)
    Seconds per gait cycle for the gait-phase terms (the runtime defaults to 0.8 s).

snake_case spellings (``observation_layout``, ``control_dt``, ``default_joint_pos``...) are
accepted too. Pure Python: no HTTP, no ROS; errors are ``OnnxMetadataConfigError`` (a ValueError).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from runtime.policies.base import PolicyLoadError
from runtime.policies.onnx_metadata.onnx_model import OnnxModelInfo, TensorInfo

REQUIRED_KEYS = ("observationLayout", "actionLayout", "controlDt")
OPTIONAL_KEYS = (
    "defaultJointPositions",
    "actionScale",
    "jointNames",
    "observationInput",
    "actionOutput",
    "observationScales",
    "gaitPeriod",
)
ALIASES = {
    "observation_layout": "observationLayout",
    "action_layout": "actionLayout",
    "control_dt": "controlDt",
    "default_joint_positions": "defaultJointPositions",
    "default_joint_pos": "defaultJointPositions",
    "action_scale": "actionScale",
    "joint_names": "jointNames",
    "observation_input": "observationInput",
    "action_output": "actionOutput",
    "observation_scales": "observationScales",
    "obs_scales": "observationScales",
    "gait_period": "gaitPeriod",
}
KNOWN_KEYS = frozenset(REQUIRED_KEYS + OPTIONAL_KEYS)
OBS_INPUT_NAMES = ("obs", "observation", "observations", "policy")
ACTION_OUTPUT_NAMES = ("actions", "action")


class OnnxMetadataConfigError(PolicyLoadError):
    """The onnx_metadata_v1 config is missing keys, malformed, or does not fit the model."""


@dataclass(frozen=True)
class LayoutTerm:
    name: str
    size: int


@dataclass(frozen=True)
class OnnxMetadataConfig:
    observation_layout: tuple[LayoutTerm, ...]
    action_layout: tuple[LayoutTerm, ...]
    control_dt: float
    default_joint_positions: tuple[float, ...] | None = None
    action_scale: float | tuple[float, ...] | None = None
    joint_names: tuple[str, ...] | None = None
    observation_input: str | None = None
    action_output: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    observation_scales: dict[str, float | tuple[float, ...]] | None = None
    gait_period: float | None = None

    @property
    def obs_dim(self) -> int:
        return sum(t.size for t in self.observation_layout)

    @property
    def action_dim(self) -> int:
        return sum(t.size for t in self.action_layout)

    def to_dict(self) -> dict[str, Any]:
        """The camelCase JSON form (what a published manifest's ``metadataConfig`` holds)."""
        scale = list(self.action_scale) if isinstance(self.action_scale, tuple) else self.action_scale
        return {
            **self.extra,
            "observationLayout": [{"name": t.name, "size": t.size} for t in self.observation_layout],
            "actionLayout": [{"name": t.name, "size": t.size} for t in self.action_layout],
            "controlDt": self.control_dt,
            "defaultJointPositions": list(self.default_joint_positions) if self.default_joint_positions else None,
            "actionScale": scale,
            "jointNames": list(self.joint_names) if self.joint_names else None,
            "observationInput": self.observation_input,
            "actionOutput": self.action_output,
            "observationScales": _scales_json(self.observation_scales),
            "gaitPeriod": self.gait_period,
            "observationSize": self.obs_dim,
            "actionSize": self.action_dim,
        }

    def bind(self, model: OnnxModelInfo) -> OnnxMetadataConfig:
        """Check the layout sizes against the model; return the config with tensor names resolved."""
        obs = _pick(
            model.inputs, self.observation_input, self.obs_dim, "observationInput", "observationLayout", "input"
        )
        act = _pick(model.outputs, self.action_output, self.action_dim, "actionOutput", "actionLayout", "output")
        return replace(self, observation_input=obs.name, action_output=act.name)


def metadata_to_config(metadata: Mapping[str, str]) -> dict[str, Any]:
    """ONNX metadata properties as config values (JSON-decoded where they are JSON)."""
    out: dict[str, Any] = {}
    for key, text in metadata.items():
        try:
            out[key] = json.loads(text)
        except (json.JSONDecodeError, TypeError):
            out[key] = text
    return out


def _canonical(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {ALIASES.get(k, k): v for k, v in raw.items()}


def parse_onnx_metadata_config(
    config: Mapping[str, Any] | None, metadata: Mapping[str, str] | None = None
) -> OnnxMetadataConfig:
    """Merge ``metadata`` (the model's) under ``config`` (the uploaded JSON) and validate the result."""
    if config is not None and not isinstance(config, Mapping):
        raise OnnxMetadataConfigError("onnx_metadata_v1 config must be a JSON object")
    from_meta = {k: v for k, v in _canonical(metadata_to_config(metadata or {})).items() if k in KNOWN_KEYS}
    from_config = _canonical(config or {})
    merged = {**from_meta, **{k: v for k, v in from_config.items() if v is not None}}
    missing = [k for k in REQUIRED_KEYS if k not in merged]
    if missing:
        where = "the config JSON or the model's metadata properties" if config is not None else "the model's metadata"
        raise OnnxMetadataConfigError(
            f"onnx_metadata_v1 config is incomplete: missing {', '.join(missing)} (looked in {where}; "
            f"required keys: {', '.join(REQUIRED_KEYS)})"
        )
    obs = _layout(merged["observationLayout"], "observationLayout")
    act = _layout(merged["actionLayout"], "actionLayout")
    action_dim = sum(t.size for t in act)
    joint_names = _names(merged.get("jointNames"), "jointNames", action_dim)
    if joint_names is None and all(t.size == 1 for t in act):
        joint_names = tuple(t.name for t in act)
    return OnnxMetadataConfig(
        observation_layout=obs,
        action_layout=act,
        control_dt=_control_dt(merged["controlDt"]),
        default_joint_positions=_numbers(merged.get("defaultJointPositions"), "defaultJointPositions", action_dim),
        action_scale=_scale(merged.get("actionScale"), action_dim),
        joint_names=joint_names,
        observation_input=_tensor_name(merged.get("observationInput"), "observationInput"),
        action_output=_tensor_name(merged.get("actionOutput"), "actionOutput"),
        extra={k: v for k, v in from_config.items() if k not in KNOWN_KEYS},
        observation_scales=_observation_scales(merged.get("observationScales"), obs),
        gait_period=_gait_period(merged.get("gaitPeriod")),
    )


# ---- field parsers ----------------------------------------------------------------------------


def _split(value: Any) -> Any:
    """Comma-separated metadata text -> list of stripped items; anything else unchanged."""
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return value


def _layout(value: Any, key: str) -> tuple[LayoutTerm, ...]:
    value = _split(value)
    if isinstance(value, Mapping):
        value = [{"name": k, "size": v} for k, v in value.items()]
    if not isinstance(value, list) or not value:
        raise OnnxMetadataConfigError(f"{key} must be a non-empty list of {{name, size}} objects or names")
    terms = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            item = {"name": item, "size": 1}
        if not isinstance(item, Mapping) or set(item) - {"name", "size"}:
            raise OnnxMetadataConfigError(f'{key}[{i}] must be {{"name": str, "size": int}} or a name')
        name, size = item.get("name"), item.get("size", 1)
        if not isinstance(name, str) or not name.strip():
            raise OnnxMetadataConfigError(f"{key}[{i}].name must be a non-empty string")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise OnnxMetadataConfigError(f"{key}[{i}].size must be a positive integer, got {size!r}")
        terms.append(LayoutTerm(name.strip(), size))
    names = [t.name for t in terms]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise OnnxMetadataConfigError(f"{key} names must be unique (repeated: {', '.join(dupes)})")
    return tuple(terms)


def _finite(value: Any, where: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise OnnxMetadataConfigError(f"{where} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise OnnxMetadataConfigError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _control_dt(value: Any) -> float:
    dt = _finite(value, "controlDt")
    if not 0 < dt <= 1:
        raise OnnxMetadataConfigError(f"controlDt must be in seconds, 0 < controlDt <= 1, got {dt}")
    return dt


def _numbers(value: Any, key: str, size: int, against: str = "actionLayout adds up to") -> tuple[float, ...] | None:
    value = _split(value)
    if value is None:
        return None
    if not isinstance(value, list):
        raise OnnxMetadataConfigError(f"{key} must be a list of {size} numbers")
    if len(value) != size:
        raise OnnxMetadataConfigError(f"{key} has {len(value)} values but {against} {size}")
    return tuple(_finite(v, f"{key}[{i}]") for i, v in enumerate(value))


def _scale(value: Any, size: int) -> float | tuple[float, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) and "," not in value:
        return _finite(value, "actionScale")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _finite(value, "actionScale")
    return _numbers(value, "actionScale", size)


def _names(value: Any, key: str, size: int) -> tuple[str, ...] | None:
    value = _split(value)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise OnnxMetadataConfigError(f"{key} must be a list of names")
    if len(value) != size:
        raise OnnxMetadataConfigError(f"{key} has {len(value)} names but actionLayout adds up to {size}")
    return tuple(v.strip() for v in value)


def _observation_scales(value: Any, layout: tuple[LayoutTerm, ...]) -> dict[str, float | tuple[float, ...]] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise OnnxMetadataConfigError('observationScales must be an object {"<observationLayout name>": scale}')
    sizes = {t.name: t.size for t in layout}
    unknown = sorted(k for k in value if k not in sizes)
    if unknown:
        raise OnnxMetadataConfigError(
            f"observationScales names {', '.join(map(repr, unknown))} are not in observationLayout"
        )
    out: dict[str, float | tuple[float, ...]] = {}
    for name, scale in value.items():
        if isinstance(scale, list) or (isinstance(scale, str) and "," in scale):
            where = f"observationScales[{name!r}]"
            out[name] = _numbers(scale, where, sizes[name], "its observationLayout size is") or ()
        else:
            out[name] = _finite(scale, f"observationScales[{name!r}]")
    return out


def _scales_json(scales: dict[str, float | tuple[float, ...]] | None) -> dict[str, Any] | None:
    if scales is None:
        return None
    return {k: list(v) if isinstance(v, tuple) else v for k, v in scales.items()}


def _gait_period(value: Any) -> float | None:
    if value is None:
        return None
    period = _finite(value, "gaitPeriod")
    if period <= 0:
        raise OnnxMetadataConfigError(f"gaitPeriod must be > 0 seconds, got {period}")
    return period


def _tensor_name(value: Any, key: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise OnnxMetadataConfigError(f"{key} must be a tensor name (string)")
    return value


# ---- model binding ----------------------------------------------------------------------------


def _pick(
    tensors: tuple[TensorInfo, ...], wanted: str | None, size: int, name_key: str, layout_key: str, kind: str
) -> TensorInfo:
    """The model tensor carrying the layout: by name, the only one, or the one whose last dim fits."""
    listed = ", ".join(t.describe() for t in tensors) or "none"
    if wanted is not None:
        chosen = next((t for t in tensors if t.name == wanted), None)
        if chosen is None:
            raise OnnxMetadataConfigError(f"{name_key} {wanted!r} is not a model {kind} (model {kind}s: {listed})")
    elif len(tensors) == 1:
        chosen = tensors[0]
    else:
        fits = [t for t in tensors if t.last_dim == size]
        preferred = OBS_INPUT_NAMES if kind == "input" else ACTION_OUTPUT_NAMES
        fits.sort(key=lambda t: t.name.lower() not in preferred)
        if not fits:
            raise OnnxMetadataConfigError(
                f"{layout_key} adds up to {size} values but no model {kind} has last dimension {size} "
                f"(model {kind}s: {listed}); fix the layout or set {name_key}"
            )
        chosen = fits[0]
    if chosen.last_dim is not None and chosen.last_dim != size:
        raise OnnxMetadataConfigError(
            f"{layout_key} adds up to {size} values but model {kind} {chosen.describe()} has last dimension "
            f"{chosen.last_dim}"
        )
    return chosen

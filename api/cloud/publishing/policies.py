"""Publish a policy: an ONNX model that loads in onnxruntime, with its adapter's config validated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.cloud.db import CloudDB
from api.cloud.errors import CloudError
from api.cloud.publishing.assets import AssetKind, get_manifest, insert_asset
from api.cloud.publishing.fields import (
    blank_to_none,
    description_field,
    normalize_slug,
    parse_ref,
    sentence,
    title_field,
)
from api.cloud.publishing.limits import check_size
from api.cloud.publishing.staging import staged_writes
from api.cloud.storage import FileStore, public_url
from runtime.policies.onnx_metadata import (
    OnnxMetadataConfigError,
    OnnxModelError,
    OnnxModelInfo,
    inspect_onnx_model,
    parse_config_json,
    parse_onnx_metadata_config,
)
from runtime.policies.unitree_velocity import (
    UnitreeVelocityConfigError,
    bind_unitree_model,
    parse_unitree_velocity_config,
)

DEFAULT_POLICY_SLUG = "my-policy"
DEFAULT_POLICY_TITLE = "My Policy"
RUNTIME_ADAPTERS = ("onnx_metadata_v1", "unitree_velocity_g1_v0")
MAX_CONFIG_CHARS = 1_000_000


@dataclass(frozen=True)
class AdapterConfig:
    control_dt: float
    metadata_config: dict[str, Any] | None = None
    unitree_velocity_config: dict[str, Any] | None = None


def check_adapter(value: str | None) -> str:
    adapter = blank_to_none(value)
    if adapter is None:
        raise CloudError(400, f"runtimeAdapter is required (one of {', '.join(RUNTIME_ADAPTERS)}).")
    if adapter not in RUNTIME_ADAPTERS:
        raise CloudError(400, f"runtimeAdapter {adapter!r} is not supported (one of {', '.join(RUNTIME_ADAPTERS)}).")
    return adapter


def load_model(data: bytes, field: str) -> OnnxModelInfo:
    """Load ``data`` in onnxruntime (CPU); 400 naming the field if it does not load."""
    check_size(data, field)
    try:
        return inspect_onnx_model(data)[1]
    except OnnxModelError as exc:
        raise CloudError(400, sentence(f"{field}: {exc}")) from exc


def adapter_config(adapter: str, config: str | None, model: OnnxModelInfo) -> AdapterConfig:
    """Validate the adapter's config against the model; 400 with the validator's message."""
    if config is not None and len(config) > MAX_CONFIG_CHARS:
        raise CloudError(400, f"config is too long ({len(config)} characters; at most {MAX_CONFIG_CHARS}).")
    try:
        if adapter == "onnx_metadata_v1":
            parsed = parse_onnx_metadata_config(parse_config_json(config), model.metadata).bind(model)
            return AdapterConfig(parsed.control_dt, metadata_config=parsed.to_dict())
        if config is None:
            raise CloudError(400, "config is required for unitree_velocity_g1_v0: send the deploy YAML text.")
        unitree = parse_unitree_velocity_config(config)
        binding = bind_unitree_model(unitree, model)
        return AdapterConfig(
            unitree.control_dt, unitree_velocity_config={**unitree.to_dict(), "onnx": binding.to_dict()}
        )
    except (OnnxMetadataConfigError, UnitreeVelocityConfigError) as exc:
        raise CloudError(400, sentence(f"config: {exc}")) from exc


def check_default_ref(db: CloudDB, kind: AssetKind, value: str | None, field: str) -> str | None:
    """``owner/slug`` of an active published asset, or None when blank; 400 otherwise."""
    ref = blank_to_none(value)
    if ref is None:
        return None
    parse_ref(ref, field)
    manifest = get_manifest(db, kind, ref)
    if manifest is None or manifest.get("status") != "active":
        raise CloudError(400, f"{field} {ref!r} does not name a published {kind}.")
    return ref


def publish_policy(
    db: CloudDB,
    store: FileStore,
    base_url: str,
    owner: str,
    *,
    model: bytes,
    runtime_adapter: str | None,
    slug_path: str | None = None,
    title: str | None = None,
    description: str | None = None,
    config: str | None = None,
    depth_model: bytes | None = None,
    default_robot_ref: str | None = None,
    default_scene_ref: str | None = None,
) -> dict:
    """Validate and store a policy; return its ``PolicyManifest`` dict; ``CloudError(400)`` on bad input."""
    adapter = check_adapter(runtime_adapter)
    slug = normalize_slug(slug_path, DEFAULT_POLICY_SLUG)
    policy_title = title_field(title, DEFAULT_POLICY_TITLE)
    policy_description = description_field(description, f"{policy_title}, a policy published by {owner}.")
    info = load_model(model, "model")
    validated = adapter_config(adapter, blank_to_none(config), info)
    if depth_model:
        load_model(depth_model, "depthModel")
    robot_ref = check_default_ref(db, "robot", default_robot_ref, "defaultRobotRef")
    scene_ref = check_default_ref(db, "scene", default_scene_ref, "defaultSceneRef")

    with staged_writes(db, store) as staged:
        model_file = staged.put(model, "onnx")
        depth_file = staged.put(depth_model, "onnx") if depth_model else None

        def manifest(chosen_slug: str, now: str) -> dict:
            return {
                "kind": "policy",
                "owner": owner,
                "slugPath": chosen_slug,
                "title": policy_title,
                "description": policy_description,
                "runtimeAdapter": adapter,
                "modelUrl": public_url(base_url, model_file),
                "depthModelUrl": public_url(base_url, depth_file) if depth_file else None,
                "controlDt": validated.control_dt,
                "metadataConfig": validated.metadata_config,
                "unitreeVelocityConfig": validated.unitree_velocity_config,
                "defaultRobotRef": robot_ref,
                "defaultSceneRef": scene_ref,
                "status": "active",
                "createdAt": now,
                "updatedAt": now,
            }

        return insert_asset(db, "policy", owner, slug, manifest)

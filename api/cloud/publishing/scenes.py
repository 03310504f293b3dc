"""Publish a scene: a validated GLB, an optional preview image and a placement transform."""

from __future__ import annotations

from api.cloud.db import CloudDB
from api.cloud.errors import CloudError
from api.cloud.publishing.assets import insert_asset
from api.cloud.publishing.fields import blank_to_none, description_field, normalize_slug, parse_ref, title_field
from api.cloud.publishing.glb import check_glb
from api.cloud.publishing.images import check_preview
from api.cloud.publishing.limits import check_size
from api.cloud.publishing.staging import staged_writes
from api.cloud.publishing.transforms import validate_transform
from api.cloud.storage import FileStore, public_url

DEFAULT_SCENE_SLUG = "my-scene"
DEFAULT_SCENE_TITLE = "My Scene"
DEFAULT_BENCHMARK_SCENE_REF = "chasebrignac/parkour"
SCENE_MODES = ("benchmark_scene", "visual_overlay")


def _mode(value: str | None) -> str:
    mode = blank_to_none(value) or "benchmark_scene"
    if mode not in SCENE_MODES:
        raise CloudError(400, f"mode {mode!r} is invalid; expected one of {', '.join(SCENE_MODES)}.")
    return mode


def publish_scene(
    db: CloudDB,
    store: FileStore,
    base_url: str,
    owner: str,
    *,
    glb: bytes,
    slug_path: str | None = None,
    title: str | None = None,
    description: str | None = None,
    benchmark_scene_ref: str | None = None,
    transform: dict | None = None,
    preview: bytes | None = None,
    mode: str | None = None,
) -> dict:
    """Validate and store a scene; return its ``SceneManifest`` dict; ``CloudError(400)`` on bad input.

    Blank strings count as absent. The slug defaults to ``my-scene`` and gets ``-2``, ``-3``...
    when the owner already has it. Nothing is stored unless everything is valid.
    """
    check_size(glb, "glb")
    check_glb(glb)
    preview_ext = None
    if preview:
        check_size(preview, "preview")
        preview_ext = check_preview(preview)
    placement = validate_transform(transform)
    scene_mode = _mode(mode)
    benchmark = blank_to_none(benchmark_scene_ref) or DEFAULT_BENCHMARK_SCENE_REF
    parse_ref(benchmark, "benchmarkSceneRef")
    slug = normalize_slug(slug_path, DEFAULT_SCENE_SLUG)
    scene_title = title_field(title, DEFAULT_SCENE_TITLE)
    scene_description = description_field(description, f"{scene_title}, a scene published by {owner}.")

    with staged_writes(db, store) as staged:
        glb_file = staged.put(glb, "glb")
        preview_file = staged.put(preview, preview_ext) if preview_ext else None

        def manifest(chosen_slug: str, now: str) -> dict:
            return {
                "kind": "scene",
                "owner": owner,
                "slugPath": chosen_slug,
                "title": scene_title,
                "description": scene_description,
                "mode": scene_mode,
                "benchmarkSceneRef": benchmark,
                "glbUrl": public_url(base_url, glb_file),
                "previewUrl": public_url(base_url, preview_file) if preview_file else None,
                "transform": placement,
                "status": "active",
                "createdAt": now,
                "updatedAt": now,
            }

        return insert_asset(db, "scene", owner, slug, manifest)

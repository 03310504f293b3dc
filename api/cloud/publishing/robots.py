"""Publish a robot: a zipped MuJoCo bundle, extracted safely and compiled before it is stored."""

from __future__ import annotations

import hashlib
import re
import shutil

from api.cloud.db import CloudDB
from api.cloud.errors import CloudError
from api.cloud.publishing.assets import insert_asset
from api.cloud.publishing.bundles import (
    bundle_url,
    check_file_references,
    compile_mjcf,
    extract_bundle,
    find_entry_xml,
    install_bundle,
)
from api.cloud.publishing.fields import blank_to_none, description_field, normalize_slug, title_field
from api.cloud.publishing.limits import check_size
from api.cloud.publishing.staging import staged_writes
from api.cloud.storage import FileStore

DEFAULT_ROBOT_SLUG = "my-robot"
DEFAULT_ROBOT_TITLE = "My Robot"
ROBOT_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9._-]+)*$")
ROBOT_KEY_MAX_LEN = 100


def check_robot_key(value: str | None) -> str:
    key = blank_to_none(value)
    if key is None:
        raise CloudError(400, "robotKey is required (e.g. 'unitree/g1').")
    if len(key) > ROBOT_KEY_MAX_LEN or not ROBOT_KEY_RE.match(key):
        raise CloudError(
            400, f"robotKey {key!r} is invalid: use letters, digits, '.', '_', '-' and '/' (e.g. 'unitree/g1')."
        )
    return key


def publish_robot(
    db: CloudDB,
    store: FileStore,
    base_url: str,
    owner: str,
    *,
    bundle: bytes,
    robot_key: str | None,
    slug_path: str | None = None,
    title: str | None = None,
    description: str | None = None,
    entry_xml_path: str | None = None,
) -> dict:
    """Validate, extract and compile a MuJoCo bundle; store it; return its ``RobotManifest`` dict."""
    check_size(bundle, "bundle")
    key = check_robot_key(robot_key)
    slug = normalize_slug(slug_path, DEFAULT_ROBOT_SLUG)
    robot_title = title_field(title, DEFAULT_ROBOT_TITLE)
    robot_description = description_field(description, f"{robot_title}, a MuJoCo robot published by {owner}.")
    digest = hashlib.sha256(bundle).hexdigest()

    tmp = extract_bundle(bundle, store)
    try:
        entry = find_entry_xml(tmp, blank_to_none(entry_xml_path))
        check_file_references(tmp)
        compile_mjcf(tmp, entry)
        with staged_writes(db, store) as staged:
            staged.put(bundle, "zip")
            dest, created = install_bundle(tmp, store, digest)
            if created:
                staged.created_dir(dest)

            def manifest(chosen_slug: str, now: str) -> dict:
                return {
                    "kind": "robot",
                    "owner": owner,
                    "slugPath": chosen_slug,
                    "title": robot_title,
                    "description": robot_description,
                    "robotKey": key,
                    "baseSceneUrl": bundle_url(base_url, digest, entry),
                    "entryXmlPath": entry,
                    "previewUrl": None,
                    "status": "active",
                    "createdAt": now,
                    "updatedAt": now,
                }

            return insert_asset(db, "robot", owner, slug, manifest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

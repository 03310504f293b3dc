"""Which published policies a caller may build on: their own, or anyone's active (public) ones."""

from __future__ import annotations

from api.cloud.db import CloudDB
from api.cloud.errors import CloudError
from api.cloud.publishing.assets import get_manifest
from api.cloud.publishing.fields import parse_ref


def accessible_policy(db: CloudDB, caller: str, ref: str, field: str = "policyRef") -> dict:
    """The ``PolicyManifest`` for ``ref`` ("owner/slug") if the caller owns it or it is active, else 400."""
    ref = ref.strip()
    parse_ref(ref, field)
    manifest = get_manifest(db, "policy", ref)
    if manifest is None or (manifest.get("owner") != caller and manifest.get("status") != "active"):
        raise CloudError(400, f"Policy {ref!r} was not found among your policies or the public active ones.")
    if manifest.get("status") == "failed":
        raise CloudError(400, f"Policy {ref!r} failed to publish; publish it again first.")
    return manifest


def policy_ref(manifest: dict) -> str:
    return f"{manifest['owner']}/{manifest['slugPath']}"

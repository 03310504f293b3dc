"""The ``scenes``, ``robots`` and ``policies`` tables: one row per published manifest.

Columns: ``id`` (``scene_<hex>``...), ``owner``, ``slugPath``, ``status``, ``manifest`` (the
spec manifest as JSON text), ``createdAt``, ``updatedAt``; ``(owner, slugPath)`` is unique.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Literal

from api.cloud.db import CloudDB, utc_now
from api.cloud.publishing.fields import with_suffix

AssetKind = Literal["scene", "robot", "policy"]
TABLES: dict[str, str] = {"scene": "scenes", "robot": "robots", "policy": "policies"}
COLUMNS = {
    "id": str,
    "owner": str,
    "slugPath": str,
    "status": str,
    "manifest": str,
    "createdAt": str,
    "updatedAt": str,
}
MAX_SLUG_ATTEMPTS = 10_000


def table_for(kind: str) -> str:
    try:
        return TABLES[kind]
    except KeyError:
        raise ValueError(f"unknown asset kind {kind!r} (expected one of {sorted(TABLES)})") from None


def ensure_asset_table(db: CloudDB, kind: str) -> str:
    """Create the kind's table if missing, with its unique ``(owner, slugPath)`` index; return its name."""
    table = table_for(kind)
    with db.lock:
        db.ensure_table(table, COLUMNS)
        db.db[table].create_index(
            ["owner", "slugPath"], index_name=f"ux_{table}_owner_slug", unique=True, if_not_exists=True
        )
        db.db[table].create_index(["status"], index_name=f"ix_{table}_status", if_not_exists=True)
    return table


def get_manifest(db: CloudDB, kind: AssetKind, ref: str) -> dict | None:
    """The manifest published as ``ref`` (``"owner/slug"``), whatever its status; None if there is none."""
    owner, _, slug = ref.strip().partition("/")
    if not owner or not slug:
        return None
    rows = db.rows(table_for(kind), "owner = ? and slugPath = ?", [owner, slug])
    return json.loads(rows[0]["manifest"]) if rows else None


def list_manifests(db: CloudDB, kind: AssetKind, owner: str | None = None, status: str | None = "active") -> list[dict]:
    """Manifests of ``kind``, oldest first, optionally only one owner's and/or one status (None: any)."""
    clauses, args = [], []
    if owner is not None:
        clauses.append("owner = ?")
        args.append(owner)
    if status is not None:
        clauses.append("status = ?")
        args.append(status)
    where = " and ".join(clauses) or None
    rows = db.rows(table_for(kind), where, args, order_by="createdAt, rowid")
    return [json.loads(r["manifest"]) for r in rows]


def _candidates(slug: str):
    return (with_suffix(slug, n) for n in range(1, MAX_SLUG_ATTEMPTS))


def _slug_taken(tx, table: str, owner: str, slug: str) -> bool:
    query = f"select 1 from [{table}] where owner = ? and slugPath = ? limit 1"
    return next(iter(tx.query(query, [owner, slug])), None) is not None


def insert_asset(
    db: CloudDB, kind: AssetKind, owner: str, slug: str, build_manifest: Callable[[str, str], dict]
) -> dict:
    """Insert a row under the first free slug (``slug``, ``slug-2``, ...) for ``owner``; return its manifest.

    ``build_manifest(slug, now)`` makes the manifest once the slug is chosen. Choosing and
    inserting happen in one transaction, so concurrent publishes never share a slug.
    """
    table = ensure_asset_table(db, kind)
    with db.transaction() as tx:
        chosen = next((c for c in _candidates(slug) if not _slug_taken(tx, table, owner, c)), None)
        if chosen is None:
            raise RuntimeError(f"no free slug left for {owner}/{slug}")
        now = utc_now()
        manifest = build_manifest(chosen, now)
        tx[table].insert(
            {
                "id": f"{kind}_{secrets.token_hex(8)}",
                "owner": owner,
                "slugPath": chosen,
                "status": manifest["status"],
                "manifest": json.dumps(manifest, separators=(",", ":")),
                "createdAt": manifest["createdAt"],
                "updatedAt": manifest["updatedAt"],
            }
        )
    return manifest

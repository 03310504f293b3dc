"""API tokens: random secrets shown once, stored as SHA-256 hashes with a display prefix."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from api.cloud.db import CloudDB, utc_now
from api.cloud.errors import CloudError

TOKENS = "api_tokens"
TOKEN_PREFIX = "rr_"
DISPLAY_PREFIX_LEN = 11  # "rr_" + 8 characters, enough to recognise a token, useless to guess it
AUTH_REQUIRED = "Authentication required."


@dataclass(frozen=True)
class Identity:
    """The authenticated caller."""

    owner: str
    token_id: str


def ensure_token_table(db: CloudDB) -> None:
    db.ensure_table(
        TOKENS,
        {
            "id": str,
            "owner": str,
            "name": str,
            "prefix": str,
            "secret_hash": str,
            "createdAt": str,
            "lastUsedAt": str,
            "revokedAt": str,
        },
        indexes=[["owner"], ["secret_hash"]],
    )


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def public_token(row: dict) -> dict:
    """A token row without its hash: the ``ApiToken`` shape."""
    return {k: row.get(k) for k in ("id", "owner", "name", "prefix", "createdAt", "lastUsedAt", "revokedAt")}


def create_token(db: CloudDB, owner: str, name: str) -> dict:
    """Mint a token; the returned dict carries the secret under ``token`` (shown once)."""
    owner, name = owner.strip(), name.strip()
    if not owner:
        raise CloudError(400, "Token owner is required.")
    if not name:
        raise CloudError(400, "Token name is required.")
    ensure_token_table(db)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = {
        "id": f"token_{secrets.token_hex(8)}",
        "owner": owner,
        "name": name[:200],
        "prefix": secret[:DISPLAY_PREFIX_LEN],
        "secret_hash": hash_secret(secret),
        "createdAt": utc_now(),
        "lastUsedAt": None,
        "revokedAt": None,
    }
    with db.transaction() as tx:
        tx[TOKENS].insert(row)
    return {**public_token(row), "token": secret}


def authenticate(db: CloudDB, authorization: str | None) -> Identity | None:
    """The identity behind an ``Authorization: Bearer`` header, or None; updates ``lastUsedAt``."""
    if not authorization:
        return None
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret.startswith(TOKEN_PREFIX):
        return None
    digest = hash_secret(secret)
    ensure_token_table(db)
    rows = db.rows(TOKENS, "secret_hash = ? and revokedAt is null", [digest])
    if not rows or not hmac.compare_digest(rows[0]["secret_hash"], digest):
        return None
    row = rows[0]
    with db.transaction() as tx:
        tx[TOKENS].update(row["id"], {"lastUsedAt": utc_now()})
    return Identity(owner=row["owner"], token_id=row["id"])


def get_db(request: Request) -> CloudDB:
    return request.app.state.cloud_db


def require_identity(request: Request) -> Identity:
    identity = authenticate(get_db(request), request.headers.get("authorization"))
    if identity is None:
        raise CloudError(401, AUTH_REQUIRED)
    return identity


def optional_identity(request: Request) -> Identity | None:
    return authenticate(get_db(request), request.headers.get("authorization"))


def check_owner(identity: Identity, owner: str | None) -> str:
    """The owner to write as: the caller's, unless an explicit different owner was asked for (403)."""
    if owner and owner.strip() and owner.strip() != identity.owner:
        raise CloudError(403, f"Owner {owner.strip()!r} does not match the authenticated user {identity.owner!r}.")
    return identity.owner


CurrentIdentity = Annotated[Identity, Depends(require_identity)]
MaybeIdentity = Annotated[Identity | None, Depends(optional_identity)]
Database = Annotated[CloudDB, Depends(get_db)]

"""API tokens: list, create, revoke one, revoke all."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.cloud.auth import TOKENS, CurrentIdentity, Database, create_token, ensure_token_table, public_token
from api.cloud.db import utc_now
from api.cloud.errors import CloudError
from api.cloud.schemas.common import ERRORS
from api.cloud.schemas.tokens import (
    ApiToken,
    CreateApiTokenRequest,
    CreatedApiToken,
    RevokeAllApiTokensResponse,
    RevokeApiTokenResponse,
)

router = APIRouter(prefix="/api/api-tokens", tags=["tokens"])


class _Empty(BaseModel):
    pass


@router.get("", operation_id="listApiTokens", responses=ERRORS(401))
def list_api_tokens(identity: CurrentIdentity, db: Database) -> list[ApiToken]:
    ensure_token_table(db)
    rows = db.rows(TOKENS, "owner = ? and revokedAt is null", [identity.owner], order_by="createdAt")
    return [ApiToken(**public_token(r)) for r in rows]


@router.post("", operation_id="createApiToken", status_code=201, responses=ERRORS(400, 401))
def create_api_token(body: CreateApiTokenRequest, identity: CurrentIdentity, db: Database) -> CreatedApiToken:
    return CreatedApiToken(**create_token(db, identity.owner, body.name))


@router.delete("", operation_id="revokeAllApiTokens", responses=ERRORS(401))
def revoke_all_api_tokens(identity: CurrentIdentity, db: Database) -> RevokeAllApiTokensResponse:
    now = utc_now()
    with db.transaction() as tx:
        ids = [r["id"] for r in tx[TOKENS].rows_where("owner = ? and revokedAt is null", [identity.owner])]
        for token_id in ids:
            tx[TOKENS].update(token_id, {"revokedAt": now})
    return RevokeAllApiTokensResponse(ok=True, revokedCount=len(ids))


@router.delete("/{tokenId}", operation_id="revokeApiToken", responses=ERRORS(401, 404))
def revoke_api_token(tokenId: str, identity: CurrentIdentity, db: Database) -> RevokeApiTokenResponse:  # noqa: N803
    row = db.get(TOKENS, tokenId)
    if row is None or row["owner"] != identity.owner or row["revokedAt"]:
        raise CloudError(404, "Token not found.")
    with db.transaction() as tx:
        tx[TOKENS].update(tokenId, {"revokedAt": utc_now()})
    return RevokeApiTokenResponse(ok=True)

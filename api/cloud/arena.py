"""Arena matchups: two active policies side by side, semantic controls, and one vote per voter.

Live browser simulations for participants arrive in a later issue. Until then a matchup is
honestly ``queued``: each participant has a reserved ``simulationId`` and ``browserUrl`` null,
and control requests are answered with the ``browser-postmessage`` dispatch a client page sends
to the pane; nothing is delivered server-side. Votes unlock ``RUNROBOT_ARENA_VOTE_DELAY_S``
seconds (default 10) after launch.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
from datetime import UTC, datetime, timedelta

from api.cloud.db import CloudDB, utc_now
from api.cloud.errors import CloudError
from api.cloud.policy_access import policy_ref
from api.cloud.publishing.assets import list_manifests

MATCHUPS = "arena_matchups"
VOTES = "arena_votes"
DELAY_ENV = "RUNROBOT_ARENA_VOTE_DELAY_S"
CONTROL_MESSAGE_TYPE = "runrobot.arena.control"
_random = random.SystemRandom()


def vote_delay_s() -> float:
    return float(os.environ.get(DELAY_ENV, "10"))


def ensure_arena_tables(db: CloudDB) -> None:
    db.ensure_table(
        MATCHUPS,
        {"id": str, "status": str, "voteUnlockAt": str, "left": str, "right": str, "createdAt": str, "updatedAt": str},
    )
    db.ensure_table(
        VOTES,
        {
            "id": str,
            "matchupId": str,
            "voterKey": str,
            "winner": str,
            "leftRef": str,
            "rightRef": str,
            "createdAt": str,
        },
        indexes=[["createdAt"]],
    )
    with db.lock:
        db.db[VOTES].create_index(["matchupId", "voterKey"], unique=True, if_not_exists=True)


def public_matchup(row: dict) -> dict:
    return {
        "id": row["id"],
        "status": row["status"],
        "voteUnlockAt": row["voteUnlockAt"],
        "left": json.loads(row["left"]),
        "right": json.loads(row["right"]),
    }


def _participant(manifest: dict) -> dict:
    ref = policy_ref(manifest)
    return {
        "title": manifest.get("title") or ref,
        "policyRef": ref,
        "simulationId": f"sim_{secrets.token_hex(8)}",
        "browserUrl": None,
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def launch_matchup(db: CloudDB) -> dict:
    """Pick two different active policies at random; 400 when the pool has fewer than two."""
    pool = list_manifests(db, "policy", status="active")
    if len(pool) < 2:
        raise CloudError(400, f"An arena matchup needs at least two active policies; {len(pool)} available.")
    left, right = _random.sample(pool, 2)
    now = datetime.now(UTC)
    row = {
        "id": f"matchup_{secrets.token_hex(8)}",
        "status": "queued",
        "voteUnlockAt": _iso(now + timedelta(seconds=vote_delay_s())),
        "left": json.dumps(_participant(left)),
        "right": json.dumps(_participant(right)),
        "createdAt": _iso(now),
        "updatedAt": _iso(now),
    }
    ensure_arena_tables(db)
    with db.transaction() as tx:
        tx[MATCHUPS].insert(row)
    return public_matchup(row)


def get_matchup(db: CloudDB, matchup_id: str, missing_status: int = 404) -> dict:
    ensure_arena_tables(db)
    row = db.get(MATCHUPS, matchup_id)
    if row is None:
        raise CloudError(missing_status, f"Matchup {matchup_id!r} not found.")
    return public_matchup(row)


def control_command(action: str) -> dict:
    """``"forward-press"`` -> ``{"kind": "move", "direction": "forward", "active": True}``; reset -> kind reset."""
    if action == "reset":
        return {"kind": "reset"}
    direction, _, edge = action.rpartition("-")
    return {"kind": "move", "direction": direction, "active": edge == "press"}


def control_dispatches(matchup: dict, side: str, action: str) -> list[dict]:
    """The ``browser-postmessage`` dispatch carrying the semantic command to one pane."""
    if matchup["status"] == "failed":
        raise CloudError(400, f"Matchup {matchup['id']} failed; it takes no controls.")
    participant = matchup[side]
    payload = {
        "type": CONTROL_MESSAGE_TYPE,
        "matchupId": matchup["id"],
        "simulationId": participant["simulationId"],
        "policyRef": participant["policyRef"],
        "action": action,
        "command": control_command(action),
    }
    return [{"side": side, "transport": "browser-postmessage", "payload": payload}]


def voter_key(owner: str | None, ip: str, user_agent: str) -> str:
    """Token owner when authenticated, else a hash of IP and user agent."""
    if owner:
        return f"owner:{owner}"
    return "anon:" + hashlib.sha256(f"{ip}\n{user_agent}".encode()).hexdigest()


def record_vote(db: CloudDB, matchup_id: str, winner: str, voter: str) -> dict:
    """One vote per matchup per voter, not before ``voteUnlockAt``; 400 otherwise."""
    matchup = get_matchup(db, matchup_id, missing_status=400)
    unlock = matchup["voteUnlockAt"]
    if unlock is None or datetime.now(UTC) < datetime.fromisoformat(unlock):
        raise CloudError(400, f"Voting on this matchup opens at {unlock}.")
    vote = {
        "id": f"vote_{secrets.token_hex(8)}",
        "matchupId": matchup_id,
        "voterKey": voter,
        "winner": winner,
        "leftRef": matchup["left"]["policyRef"],
        "rightRef": matchup["right"]["policyRef"],
        "createdAt": utc_now(),
    }
    with db.transaction() as tx:
        if list(tx[VOTES].rows_where("matchupId = ? and voterKey = ?", [matchup_id, voter], limit=1)):
            raise CloudError(400, "You already voted on this matchup.")
        tx[VOTES].insert(vote)
    return matchup


def all_votes(db: CloudDB) -> list[dict]:
    ensure_arena_tables(db)
    return db.rows(VOTES, order_by="createdAt")

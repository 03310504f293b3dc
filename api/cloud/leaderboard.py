"""The public leaderboard: Bradley–Terry ratings over every counted arena vote (no vote is exposed).

``left``/``right`` votes are a win and a loss; ``both_good`` and ``both_bad`` are ties (half a win
each) and are counted under ``ties``. Intervals come from a seeded bootstrap over the votes.
"""

from __future__ import annotations

from api.cloud.arena import all_votes
from api.cloud.bradley_terry import rate
from api.cloud.db import CloudDB
from api.cloud.publishing.assets import get_manifest

BOOTSTRAP_ROUNDS = 200
BOOTSTRAP_SEED = 20240601
LEFT_SCORE = {"left": 1.0, "right": 0.0, "both_good": 0.5, "both_bad": 0.5}


def leaderboard(db: CloudDB) -> dict:
    votes = all_votes(db)
    refs = sorted({v["leftRef"] for v in votes} | {v["rightRef"] for v in votes})
    index = {ref: k for k, ref in enumerate(refs)}
    tally = {ref: {"wins": 0, "losses": 0, "ties": 0} for ref in refs}
    comparisons = []
    for v in votes:
        left, right, score = v["leftRef"], v["rightRef"], LEFT_SCORE[v["winner"]]
        comparisons.append((index[left], index[right], score))
        if score == 0.5:
            tally[left]["ties"] += 1
            tally[right]["ties"] += 1
        else:
            tally[left]["wins" if score == 1.0 else "losses"] += 1
            tally[right]["losses" if score == 1.0 else "wins"] += 1
    fit = rate(len(refs), comparisons, rounds=BOOTSTRAP_ROUNDS, seed=BOOTSTRAP_SEED)
    entries = []
    for ref, k in index.items():
        manifest = get_manifest(db, "policy", ref)
        counts = tally[ref]
        entries.append(
            {
                "policy_ref": ref,
                "title": (manifest or {}).get("title") or ref,
                "rating": round(float(fit.ratings[k]), 1),
                "wins": counts["wins"],
                "losses": counts["losses"],
                "ties": counts["ties"],
                "counted_votes": counts["wins"] + counts["losses"] + counts["ties"],
                "confidence_low": round(float(fit.low[k]), 1),
                "confidence_high": round(float(fit.high[k]), 1),
            }
        )
    entries.sort(key=lambda e: (-e["rating"], e["policy_ref"]))
    return {
        "updated_at": votes[-1]["createdAt"] if votes else None,
        "winner": entries[0]["policy_ref"] if entries else None,
        "entries": entries,
    }

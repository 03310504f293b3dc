"""Rollout records and their persisted event logs.

A rollout is either the *default run* of one of the caller's active policies (the public
browser run at ``/{owner}/{slug}/{robotRef}/{sceneRef}``) or one of the caller's deployments.

Route defaults: a policy without ``defaultRobotRef`` / ``defaultSceneRef`` runs on the
reference pair of the public runs, robot ``unitree/G1`` and scene ``chasebrignac/parkour``;
the rollout's event log says when a fallback was used.
"""

from __future__ import annotations

import secrets

from api.cloud.db import CloudDB, utc_now
from api.cloud.policy_access import policy_ref
from api.cloud.publishing.assets import get_manifest, list_manifests
from api.cloud.publishing.scenes import DEFAULT_BENCHMARK_SCENE_REF

EVENTS = "rollout_events"
DEFAULT_ROBOT_REF = "unitree/G1"
DEFAULT_SCENE_REF = DEFAULT_BENCHMARK_SCENE_REF
DEFAULT_RUN_RUNTIME = "browser.mujoco.onnx"
# Deployment status -> rollout status. A starting deployment is not serving yet: "idle", its log says "loading".
ROLLOUT_STATUS = {"starting": "idle", "idle": "idle", "processing": "ready", "failed": "failed"}


def ensure_event_table(db: CloudDB) -> None:
    db.ensure_table(EVENTS, {"id": str, "subject": str, "at": str, "message": str}, indexes=[["subject", "at"]])


def policy_subject(ref: str) -> str:
    return f"policy:{ref}"


def deployment_subject(deployment_id: str) -> str:
    return f"deployment:{deployment_id}"


def record_event(db: CloudDB, subject: str, message: str, at: str | None = None, key: str | None = None) -> None:
    """Append one event; with ``key`` the event is recorded once per subject (idempotent)."""
    ensure_event_table(db)
    event_id = f"{subject}|{key}" if key else f"{subject}|{secrets.token_hex(8)}"
    with db.transaction() as tx:
        tx[EVENTS].insert({"id": event_id, "subject": subject, "at": at or utc_now(), "message": message}, ignore=True)


def event_log(db: CloudDB, subject: str) -> list[str]:
    ensure_event_table(db)
    return [f"{r['at']} {r['message']}" for r in db.rows(EVENTS, "subject = ?", [subject], order_by="at, rowid")]


def run_route(manifest: dict | None, ref: str) -> tuple[str, list[str]]:
    """The public run URL path for a policy, and notes on any defaults it had to assume."""
    manifest = manifest or {}
    robot = manifest.get("defaultRobotRef") or DEFAULT_ROBOT_REF
    scene = manifest.get("defaultSceneRef") or DEFAULT_SCENE_REF
    notes = []
    if not manifest.get("defaultRobotRef"):
        notes.append(f"no defaultRobotRef: the route uses the reference robot {DEFAULT_ROBOT_REF}")
    if not manifest.get("defaultSceneRef"):
        notes.append(f"no defaultSceneRef: the route uses the reference scene {DEFAULT_SCENE_REF}")
    return f"/{ref}/{robot}/{scene}", notes


def _record_policy_history(db: CloudDB, manifest: dict, ref: str, notes: list[str]) -> None:
    """Persist what the manifest tells about the policy (once per fact)."""
    subject = policy_subject(ref)
    record_event(
        db,
        subject,
        f"published {ref} ({manifest.get('runtimeAdapter')}, model {manifest.get('modelUrl')})",
        at=manifest.get("createdAt"),
        key="published",
    )
    status, updated = manifest.get("status"), manifest.get("updatedAt")
    record_event(db, subject, f"validated at publish; status {status}", at=updated, key=f"status:{status}:{updated}")
    for note in notes:
        record_event(db, subject, note, at=updated, key=f"note:{note}")


def default_run(db: CloudDB, manifest: dict) -> dict:
    """The ``Rollout`` for an active policy's public browser run."""
    ref = policy_ref(manifest)
    route, notes = run_route(manifest, ref)
    _record_policy_history(db, manifest, ref, notes)
    return {
        "id": "rollout-default-" + ref.replace("/", "-"),
        "title": f"{manifest.get('title') or ref} default browser run",
        "policyRef": ref,
        "route": route,
        "runtimeKind": DEFAULT_RUN_RUNTIME,
        "source": "default-run",
        "status": "ready",
        "deploymentId": None,
        "deploymentEndpointPath": None,
        "createdAt": manifest["createdAt"],
        "updatedAt": manifest["updatedAt"],
        "errorLog": None,
        "eventLog": event_log(db, policy_subject(ref)),
    }


def deployment_run(db: CloudDB, deployment: dict) -> dict:
    """The ``Rollout`` for one deployment (status from the deployment's)."""
    route, _ = run_route(get_manifest(db, "policy", deployment["policyRef"]), deployment["policyRef"])
    return {
        "id": f"rollout-deployment-{deployment['id']}",
        "title": f"{deployment['title']} deployment",
        "policyRef": deployment["policyRef"],
        "route": route,
        "runtimeKind": deployment["runtimeKind"],
        "source": "deployment",
        "status": ROLLOUT_STATUS[deployment["status"]],
        "deploymentId": deployment["id"],
        "deploymentEndpointPath": deployment["endpointPath"],
        "createdAt": deployment["createdAt"],
        "updatedAt": deployment["updatedAt"],
        "errorLog": deployment["lastError"],
        "eventLog": event_log(db, deployment_subject(deployment["id"])),
    }


def list_rollouts(db: CloudDB, owner: str, deployments: list[dict]) -> list[dict]:
    """Default runs of ``owner``'s active policies, then ``deployments`` (the owner's)."""
    policies = sorted(list_manifests(db, "policy", owner=owner, status="active"), key=lambda m: m["createdAt"])
    return [default_run(db, m) for m in policies] + [deployment_run(db, d) for d in deployments]

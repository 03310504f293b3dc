"""Policy deployments: creation rules, and the background check that moves ``starting`` -> ``idle``.

``idle`` means the policy's ONNX model (and depth model, if any) loaded in onnxruntime on this
machine and ran once on zero inputs; no instance is kept running (``currentInstances`` 0).
Runtime kinds that need a hosted GPU backend this machine lacks are recorded as ``failed``.
"""

from __future__ import annotations

import logging
import secrets

from api.cloud.db import CloudDB, utc_now
from api.cloud.errors import CloudError
from api.cloud.job_runner import JobRunner
from api.cloud.onnx_check import OnnxCheckError, check_onnx_model, stored_model_path
from api.cloud.policy_access import accessible_policy, policy_ref
from api.cloud.publishing.assets import get_manifest
from api.cloud.publishing.fields import TITLE_MAX_LEN, slugify, text_field
from api.cloud.rollouts import deployment_subject, policy_subject, record_event
from api.cloud.schemas.deployments import CreateDeploymentRequest, Deployment
from api.cloud.storage import FileStore

log = logging.getLogger(__name__)

DEPLOYMENTS = "deployments"
GPU_BACKEND_PREFIXES = ("instance.vlm.", "instance.worldmodel.", "instance.worldrecon.", "instance.worldplay.")
GPU_BACKEND_KINDS = {"instance.vla.pi0"}
# Runtime kinds that only run one runtime adapter.
REQUIRED_ADAPTER = {"native.robot.lowcmd": "unitree_velocity_g1_v0"}


def ensure_deployment_table(db: CloudDB) -> None:
    db.ensure_table(
        DEPLOYMENTS,
        {
            "id": str,
            "owner": str,
            "title": str,
            "policyRef": str,
            "runtimeKind": str,
            "minInstances": int,
            "maxInstances": int,
            "scaleToZero": bool,
            "alwaysOn": bool,
            "hardwareSku": str,
            "idleScaleDownSeconds": int,
            "currentInstances": int,
            "lastActiveAt": str,
            "endpointPath": str,
            "status": str,
            "lastError": str,
            "createdAt": str,
            "updatedAt": str,
        },
        indexes=[["owner"], ["endpointPath"], ["status"]],
    )


def public_deployment(row: dict) -> dict:
    out = {k: row.get(k) for k in Deployment.model_fields}
    out["scaleToZero"], out["alwaysOn"] = bool(out["scaleToZero"]), bool(out["alwaysOn"])
    return out


def list_deployments(db: CloudDB, owner: str) -> list[dict]:
    ensure_deployment_table(db)
    return [public_deployment(r) for r in db.rows(DEPLOYMENTS, "owner = ?", [owner], order_by="createdAt")]


def needs_hosted_gpu(runtime_kind: str) -> bool:
    return runtime_kind in GPU_BACKEND_KINDS or runtime_kind.startswith(GPU_BACKEND_PREFIXES)


def create_deployment(db: CloudDB, owner: str, req: CreateDeploymentRequest) -> dict:
    """Validate and store a deployment: ``starting`` (to be checked) or ``failed`` (no GPU backend here)."""
    title = text_field(req.title, "title", "", TITLE_MAX_LEN)
    if not title:
        raise CloudError(400, "Deployment title is required.")
    if req.minInstances > req.maxInstances:
        raise CloudError(400, f"minInstances ({req.minInstances}) must not exceed maxInstances ({req.maxInstances}).")
    if req.alwaysOn and req.scaleToZero:
        raise CloudError(400, "An alwaysOn deployment cannot also scaleToZero.")
    manifest = accessible_policy(db, owner, req.policyRef)
    kind = str(req.runtimeKind)
    adapter = REQUIRED_ADAPTER.get(kind)
    if adapter and manifest.get("runtimeAdapter") != adapter:
        have = manifest.get("runtimeAdapter")
        raise CloudError(400, f"{kind} needs a {adapter} policy; {policy_ref(manifest)} is {have}.")
    endpoint = f"/deployments/{owner}/{slugify(title) or 'deployment'}"
    ensure_deployment_table(db)
    now = utc_now()
    row = {
        "id": f"deploy_{secrets.token_hex(8)}",
        "owner": owner,
        "title": title,
        "policyRef": policy_ref(manifest),
        "runtimeKind": kind,
        "minInstances": req.minInstances,
        "maxInstances": req.maxInstances,
        "scaleToZero": req.scaleToZero,
        "alwaysOn": req.alwaysOn,
        "hardwareSku": req.hardwareSku,
        "idleScaleDownSeconds": req.idleScaleDownSeconds,
        "currentInstances": 0,
        "lastActiveAt": None,
        "endpointPath": endpoint,
        "status": "starting",
        "lastError": None,
        "createdAt": now,
        "updatedAt": now,
    }
    if needs_hosted_gpu(kind):
        row["status"] = "failed"
        row["lastError"] = f"{kind} needs a hosted GPU backend, and this machine has none; no instance was started."
    with db.transaction() as tx:
        if list(tx[DEPLOYMENTS].rows_where("endpointPath = ?", [endpoint], limit=1)):
            raise CloudError(400, f"A deployment at {endpoint} already exists; choose another title.")
        tx[DEPLOYMENTS].insert(row)
    subject = deployment_subject(row["id"])
    record_event(db, subject, f"deployment created: {row['policyRef']} as {kind} at {endpoint}", at=now)
    if row["policyRef"].split("/", 1)[0] == owner:
        record_event(db, policy_subject(row["policyRef"]), f"deployment {row['id']} created ({kind})", at=now)
    if row["hardwareSku"]:
        record_event(
            db, subject, f"hardwareSku {row['hardwareSku']} recorded; this server checks on its own CPU", at=now
        )
    if row["status"] == "failed":
        record_event(db, subject, f"failed: {row['lastError']}", at=now)
    return public_deployment(row)


def _finish(db: CloudDB, deployment_id: str, status: str, error: str | None, message: str) -> None:
    now = utc_now()
    with db.transaction() as tx:
        tx[DEPLOYMENTS].update(deployment_id, {"status": status, "lastError": error, "updatedAt": now})
    record_event(db, deployment_subject(deployment_id), message, at=now)


def check_deployment(db: CloudDB, store: FileStore, deployment_id: str) -> None:
    """Load and run the deployment's model(s) here; ``idle`` on success, ``failed`` with ``lastError`` else."""
    row = db.get(DEPLOYMENTS, deployment_id)
    if row is None or row["status"] != "starting":
        return
    subject = deployment_subject(deployment_id)
    record_event(db, subject, "loading the policy model in onnxruntime (CPU) on this machine")
    try:
        manifest = get_manifest(db, "policy", row["policyRef"])
        if manifest is None:
            raise OnnxCheckError(f"policy {row['policyRef']} no longer exists")
        summaries = [check_onnx_model(stored_model_path(store, manifest["modelUrl"]))]
        if manifest.get("depthModelUrl"):
            summaries.append("depth model " + check_onnx_model(stored_model_path(store, manifest["depthModelUrl"])))
    except OnnxCheckError as exc:
        _finish(db, deployment_id, "failed", str(exc), f"failed: {exc}")
        return
    except Exception as exc:  # anything unexpected still ends the deployment honestly
        log.exception("deployment check %s crashed", deployment_id)
        _finish(db, deployment_id, "failed", f"check crashed: {exc}", f"failed: check crashed: {exc}")
        return
    _finish(db, deployment_id, "idle", None, "loaded and checked: " + "; ".join(summaries) + "; idle")


def resume_deployment_checks(db: CloudDB, store: FileStore, runner: JobRunner) -> None:
    """Queue checks for deployments left ``starting`` (e.g. by a restart)."""
    ensure_deployment_table(db)
    for row in db.rows(DEPLOYMENTS, "status = ?", ["starting"], order_by="createdAt"):
        runner.submit(check_deployment, db, store, row["id"])

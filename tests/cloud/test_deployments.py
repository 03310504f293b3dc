"""Deployments through the real app: validation, GPU-only kinds, and the ONNX check that makes them idle."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from tests.cloud.fixtures import bearer, deploy_yaml, mlp_onnx, onnx_metadata_config
from tests.openapi_validation import SpecValidator

PATH = "/api/deployments"
GPU_KINDS = [
    "instance.vlm.gemma",
    "instance.vlm.wilddet3d",
    "instance.worldmodel.cosmos",
    "instance.worldrecon.hyworld",
    "instance.worldplay.hyworld",
    "instance.vla.pi0",
]


def publish_policy(client: TestClient, headers: dict, slug: str, *, unitree: bool = False, hidden: int = 16) -> dict:
    """Publish a real ONNX policy (``hidden`` varies the bytes, hence the stored file)."""
    if unitree:
        data = {"runtimeAdapter": "unitree_velocity_g1_v0", "config": deploy_yaml()}
    else:
        data = {"runtimeAdapter": "onnx_metadata_v1", "config": json.dumps(onnx_metadata_config())}
    files = {"model": ("policy.onnx", mlp_onnx(hidden=hidden), "application/octet-stream")}
    response = client.post(
        "/api/publish/policies", headers=headers, files=files, data={**data, "slugPath": slug, "title": slug}
    )
    assert response.status_code == 201, response.text
    return response.json()["manifest"]


def create(client: TestClient, validator: SpecValidator, headers: dict, **body) -> tuple[int, dict]:
    response = client.post(PATH, headers=headers, json=body)
    validator.validate_response("post", PATH, response.status_code, response.json())
    return response.status_code, response.json()


def listed(client: TestClient, validator: SpecValidator, headers: dict) -> list[dict]:
    response = client.get(PATH, headers=headers)
    assert response.status_code == 200, response.text
    validator.validate_response("get", PATH, 200, response.json())
    return response.json()["deployments"]


def wait_for(client: TestClient, validator: SpecValidator, headers: dict, deployment_id: str) -> dict:
    """Poll the list until the deployment leaves ``starting``."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = next(d for d in listed(client, validator, headers) if d["id"] == deployment_id)
        if found["status"] != "starting":
            return found
        time.sleep(0.05)
    raise AssertionError(f"deployment {deployment_id} still starting")


def test_auth_is_required(client: TestClient, cloud_validator: SpecValidator) -> None:
    for headers in ({}, bearer("rr_nope")):
        response = client.get(PATH, headers=headers)
        assert response.status_code == 401
        cloud_validator.validate_response("get", PATH, 401, response.json())
        status, body = create(
            client, cloud_validator, headers, title="x", policyRef="a/b", runtimeKind="browser.mujoco.onnx"
        )
        assert status == 401 and body == {"error": "Authentication required."}


def test_deployment_of_a_real_onnx_policy_becomes_idle(
    client: TestClient, cloud_validator: SpecValidator, auth: dict
) -> None:
    publish_policy(client, auth, "walker")
    status, body = create(
        client,
        cloud_validator,
        auth,
        title="My G1 browser deployment",
        policyRef="alice/walker",
        runtimeKind="instance.mujoco.onnx",
        minInstances=0,
        maxInstances=2,
        hardwareSku="cpu-small",
        idleScaleDownSeconds=1800,
    )
    assert status == 201, body
    d = body["deployment"]
    assert d["status"] == "starting" and d["lastError"] is None
    assert d["endpointPath"] == "/deployments/alice/my-g1-browser-deployment"
    assert (d["owner"], d["policyRef"], d["minInstances"], d["maxInstances"]) == ("alice", "alice/walker", 0, 2)
    assert (d["scaleToZero"], d["alwaysOn"], d["hardwareSku"], d["idleScaleDownSeconds"]) == (
        True,
        False,
        "cpu-small",
        1800,
    )
    done = wait_for(client, cloud_validator, auth, d["id"])
    assert done["status"] == "idle" and done["lastError"] is None and done["currentInstances"] == 0
    assert done["updatedAt"] >= d["updatedAt"]


def test_public_policies_of_others_and_lowcmd_needs_a_unitree_policy(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, make_token
) -> None:
    bob = bearer(make_token("bob")["token"])
    publish_policy(client, bob, "g1-walk", unitree=True)
    publish_policy(client, bob, "generic", hidden=9)
    status, body = create(
        client, cloud_validator, auth, title="lowcmd", policyRef="bob/generic", runtimeKind="native.robot.lowcmd"
    )
    assert status == 400 and "unitree_velocity_g1_v0" in body["error"]
    status, body = create(
        client, cloud_validator, auth, title="lowcmd", policyRef="bob/g1-walk", runtimeKind="native.robot.lowcmd"
    )
    assert status == 201, body
    assert body["deployment"]["owner"] == "alice" and body["deployment"]["policyRef"] == "bob/g1-walk"
    assert wait_for(client, cloud_validator, auth, body["deployment"]["id"])["status"] == "idle"
    assert listed(client, cloud_validator, bob) == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"minInstances": 3, "maxInstances": 2}, "must not exceed"),
        ({"maxInstances": 0}, "maxInstances"),
        ({"minInstances": -1}, "minInstances"),
        ({"runtimeKind": "instance.quantum.onnx"}, "runtimeKind"),
        ({"policyRef": "alice/nope"}, "not found"),
        ({"policyRef": "not-a-ref"}, "owner/slug"),
        ({"title": "  "}, "title"),
        ({"alwaysOn": True, "scaleToZero": True}, "alwaysOn"),
        ({"idleScaleDownSeconds": -5}, "idleScaleDownSeconds"),
    ],
)
def test_invalid_requests_are_400(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, body: dict, fragment: str
) -> None:
    publish_policy(client, auth, "walker")
    request = {"title": "d", "policyRef": "alice/walker", "runtimeKind": "browser.mujoco.onnx", **body}
    status, answer = create(client, cloud_validator, auth, **request)
    assert status == 400 and fragment in answer["error"], answer
    assert listed(client, cloud_validator, auth) == []


def test_private_policies_of_others_are_not_deployable(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, make_token
) -> None:
    bob = bearer(make_token("bob")["token"])
    publish_policy(client, bob, "secret")
    db = client.app.state.cloud_db
    row = db.rows("policies", "owner = 'bob' and slugPath = 'secret'")[0]
    draft = {**json.loads(row["manifest"]), "status": "draft"}
    with db.transaction() as tx:
        tx["policies"].update(row["id"], {"status": "draft", "manifest": json.dumps(draft)})
    status, body = create(
        client, cloud_validator, auth, title="x", policyRef="bob/secret", runtimeKind="browser.mujoco.onnx"
    )
    assert status == 400 and "not found" in body["error"]


def test_duplicate_endpoint_is_400(client: TestClient, cloud_validator: SpecValidator, auth: dict) -> None:
    publish_policy(client, auth, "walker")
    request = {"title": "Same Name", "policyRef": "alice/walker", "runtimeKind": "browser.mujoco.onnx"}
    assert create(client, cloud_validator, auth, **request)[0] == 201
    status, body = create(client, cloud_validator, auth, **{**request, "title": "same name!"})
    assert status == 400 and "/deployments/alice/same-name" in body["error"]


@pytest.mark.parametrize("kind", GPU_KINDS)
def test_gpu_backend_kinds_fail_honestly(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, kind: str
) -> None:
    publish_policy(client, auth, "walker")
    status, body = create(client, cloud_validator, auth, title=kind, policyRef="alice/walker", runtimeKind=kind)
    assert status == 201, body
    d = body["deployment"]
    assert d["status"] == "failed" and kind in d["lastError"] and "GPU" in d["lastError"]
    assert listed(client, cloud_validator, auth)[0]["status"] == "failed"


def test_missing_model_file_fails_with_last_error(
    client: TestClient, cloud_validator: SpecValidator, auth: dict
) -> None:
    manifest = publish_policy(client, auth, "lost", hidden=11)
    name = manifest["modelUrl"].rsplit("/", 1)[-1]
    (client.app.state.file_store.root / name).unlink()
    status, body = create(
        client, cloud_validator, auth, title="lost", policyRef="alice/lost", runtimeKind="browser.mujoco.onnx"
    )
    assert status == 201
    done = wait_for(client, cloud_validator, auth, body["deployment"]["id"])
    assert done["status"] == "failed" and "not in this machine's file store" in done["lastError"]

"""Rollouts through the real app: default runs of active policies and deployments, with persisted event logs."""

from __future__ import annotations

import json
import time

from fastapi.testclient import TestClient

from tests.cloud.fixtures import bearer, glb_bytes, mlp_onnx, onnx_metadata_config, robot_zip
from tests.openapi_validation import SpecValidator

PATH = "/api/rollout"


def publish_policy(client: TestClient, headers: dict, slug: str, **refs: str) -> dict:
    files = {"model": ("policy.onnx", mlp_onnx(), "application/octet-stream")}
    data = {"runtimeAdapter": "onnx_metadata_v1", "config": json.dumps(onnx_metadata_config())}
    response = client.post(
        "/api/publish/policies", headers=headers, files=files, data={**data, "slugPath": slug, "title": slug, **refs}
    )
    assert response.status_code == 201, response.text
    return response.json()["manifest"]


def rollout_list(client: TestClient, validator: SpecValidator, headers: dict) -> list[dict]:
    response = client.get(PATH, headers=headers)
    assert response.status_code == 200, response.text
    validator.validate_response("get", PATH, 200, response.json())
    return response.json()["rollouts"]


def deploy(client: TestClient, headers: dict, title: str, ref: str, kind: str) -> dict:
    response = client.post(
        "/api/deployments", headers=headers, json={"title": title, "policyRef": ref, "runtimeKind": kind}
    )
    assert response.status_code == 201, response.text
    return response.json()["deployment"]


def test_auth_is_required(client: TestClient, cloud_validator: SpecValidator) -> None:
    response = client.get(PATH)
    assert response.status_code == 401
    cloud_validator.validate_response("get", PATH, 401, response.json())


def test_default_runs_use_policy_defaults_or_the_reference_pair(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, make_token
) -> None:
    robot = client.post(
        "/api/publish/robots",
        headers=auth,
        files={"bundle": ("robot.zip", robot_zip(), "application/zip")},
        data={"slugPath": "arm", "robotKey": "tiny/arm"},
    )
    scene = client.post(
        "/api/publish/scenes",
        headers=auth,
        files={"glb": ("scene.glb", glb_bytes(), "model/gltf-binary")},
        data={"slugPath": "kitchen"},
    )
    assert robot.status_code == 201 and scene.status_code == 201, (robot.text, scene.text)
    publish_policy(client, auth, "picker", defaultRobotRef="alice/arm", defaultSceneRef="alice/kitchen")
    publish_policy(client, auth, "walker")
    publish_policy(client, bearer(make_token("bob")["token"]), "bobs")

    runs = rollout_list(client, cloud_validator, auth)
    assert [r["id"] for r in runs] == ["rollout-default-alice-picker", "rollout-default-alice-walker"]
    picker, walker = runs
    assert picker["route"] == "/alice/picker/alice/arm/alice/kitchen"
    assert walker["route"] == "/alice/walker/unitree/G1/chasebrignac/parkour"
    for run in runs:
        assert (run["source"], run["status"], run["runtimeKind"]) == ("default-run", "ready", "browser.mujoco.onnx")
        assert run["deploymentId"] is None and run["errorLog"] is None
        assert any("published alice/" in e for e in run["eventLog"])
        assert any("validated at publish; status active" in e for e in run["eventLog"])
    assert not any("reference" in e for e in picker["eventLog"])
    assert any("reference robot unitree/G1" in e for e in walker["eventLog"])
    assert rollout_list(client, cloud_validator, auth) == runs  # events are persisted once, not re-added


def test_deployment_rollouts_follow_their_deployments(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, make_token
) -> None:
    publish_policy(client, auth, "walker")
    ok = deploy(client, auth, "Walker live", "alice/walker", "instance.mujoco.onnx")
    gpu = deploy(client, auth, "Walker VLA", "alice/walker", "instance.vla.pi0")
    bob = bearer(make_token("bob")["token"])
    deploy(client, bob, "Bob borrows", "alice/walker", "browser.mujoco.onnx")

    deadline = time.monotonic() + 20
    while True:  # a starting deployment shows as "idle" until its log ends with the check's outcome
        runs = {r["id"]: r for r in rollout_list(client, cloud_validator, auth)}
        live = runs[f"rollout-deployment-{ok['id']}"]
        if live["eventLog"][-1].split(" ", 1)[1].startswith(("loaded and checked", "failed:")):
            break
        assert time.monotonic() < deadline, live
        time.sleep(0.05)
    assert len(runs) == 3  # the default run and alice's two deployments; bob's is not hers
    assert live["status"] == "idle" and live["errorLog"] is None
    assert (live["deploymentId"], live["deploymentEndpointPath"]) == (ok["id"], "/deployments/alice/walker-live")
    assert live["route"] == "/alice/walker/unitree/G1/chasebrignac/parkour" and live["source"] == "deployment"
    assert "deployment created" in live["eventLog"][0] and "loaded and checked" in live["eventLog"][-1]
    failed = runs[f"rollout-deployment-{gpu['id']}"]
    assert failed["status"] == "failed" and "GPU" in failed["errorLog"]
    assert failed["runtimeKind"] == "instance.vla.pi0" and "failed:" in failed["eventLog"][-1]
    default = runs["rollout-default-alice-walker"]
    assert any(f"deployment {ok['id']} created" in e for e in default["eventLog"])
    assert not any("Bob" in e or "bob" in e for e in default["eventLog"])
    bob_runs = rollout_list(client, cloud_validator, bob)
    assert [r["source"] for r in bob_runs] == ["deployment"]

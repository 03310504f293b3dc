"""Schemathesis fuzzing of the real app against both contracts, bounded and seeded.

The schemas are loaded from the spec FILES (the contract), never from the app's own OpenAPI.
The app is the real one from ``api.app.create_app`` (lifespan, cloud workers, SQLite, file store)
served by uvicorn on 127.0.0.1 in a background thread; schemathesis calls it over HTTP.

Checked for every generated request (positive and negative data; examples, coverage and fuzzing
phases; ``MAX_EXAMPLES`` fuzzed cases per operation, seeded with ``SEED``, no example database, no
4xx error feedback, so a run is reproducible; ``RUNROBOT_FUZZ_EXAMPLES`` / ``RUNROBOT_FUZZ_SEED``
override both for a deeper or different local run):

- ``not_a_server_error``: no 5xx at all;
- ``response_schema_conformance``: a response whose status the spec documents matches its schema;
- ``content_type_conformance``: documented responses carry the documented media type;
- cloud spec only: ``status_code_conformance`` (every status is one the spec documents for the operation);
- session spec only: statuses the spec does not document (its FastAPI-generated document lists only
  200/422, while the app also answers 400/404/409 with ``{"detail": "..."}``) are validated against
  the app's own OpenAPI document instead, and must be documented there.

To get past trivial 401/400/404 answers: cloud calls carry a real API token (a fresh one per
request, since ``revokeAllApiTokens`` is fuzzed too), the app is seeded with published policies,
a scene, a robot, a deployment, a dataset, an arena matchup and a SceneGen job, and schemathesis
hooks substitute their ids/refs (and real ONNX/GLB/zip/MP4/image bytes for uploads) into some of the
generated requests. The session app runs with ROS 2 on (an isolated domain), a session on a real ACT
checkpoint exists throughout, and create requests sometimes name that checkpoint and its camera.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import requests
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import find
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.cloud.arena import DELAY_ENV
from api.cloud.auth import create_token
from api.cloud.video2robot import URL_ENV
from runtime.session import SessionNotFound
from tests.cloud.fixtures import (
    MP4,
    bearer,
    deploy_yaml,
    glb_bytes,
    mlp_onnx,
    onnx_metadata_config,
    png_bytes,
    robot_zip,
)
from tests.cloud.video2robot_standin import running_standin
from tests.conftest import next_ros_domain
from tests.openapi_validation import SpecValidator

SPEC_DIR = Path(__file__).resolve().parents[1] / "spec"
SEED = int(os.environ.get("RUNROBOT_FUZZ_SEED", "20250101"))
MAX_EXAMPLES = int(os.environ.get("RUNROBOT_FUZZ_EXAMPLES", "25"))  # fuzzed cases per operation; raise for a deep run
OWNER = "fuzzer"
SESSION_ID = "fuzz-session"
HOST = "127.0.0.1"


def fuzz_config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
            # Error feedback adapts generation to 4xx texts, which carry random ids: off, for reproducible runs.
            "phases": {"stateful": {"enabled": False}, "fuzzing": {"error-feedback": {"enabled": False}}},
        }
    )


cloud_schema = schemathesis.openapi.from_path(SPEC_DIR / "runrobot-cloud.openapi.json", config=fuzz_config())
session_schema = schemathesis.openapi.from_path(SPEC_DIR / "inference-server.openapi.json", config=fuzz_config())

CLOUD_CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, status_code_conformance]
SESSION_CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]

# Ids and refs of the seeded resources, filled by the app fixtures and read by the hooks below.
KNOWN: dict[str, Any] = {}
KEEP = object()


# ---- the running app ------------------------------------------------------------------------------


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` (with its lifespan) on uvicorn on a free loopback port; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="fuzz-uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive(), "uvicorn exited during startup"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield f"http://{HOST}:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


# ---- seeding --------------------------------------------------------------------------------------


def seed_cloud(base: str, headers: dict[str, str]) -> dict[str, Any]:
    """Publish policies, a scene, a robot; create a deployment, a dataset, a matchup, a SceneGen job."""
    with requests.Session() as http:
        http.headers.update(headers)
        return _seed_cloud(base, http)


def _seed_cloud(base: str, http: requests.Session) -> dict[str, Any]:

    def ok(response: requests.Response, status: int = 201) -> dict:
        assert response.status_code == status, response.text
        return response.json()

    policy_data = {"runtimeAdapter": "onnx_metadata_v1", "config": json.dumps(onnx_metadata_config())}
    refs = []
    for slug in ("walker", "runner"):
        files = {"model": ("policy.onnx", mlp_onnx(), "application/octet-stream")}
        manifest = ok(http.post(f"{base}/api/publish/policies", files=files, data={**policy_data, "slugPath": slug}))
        refs.append(f"{manifest['manifest']['owner']}/{manifest['manifest']['slugPath']}")
    scene = ok(
        http.post(
            f"{base}/api/publish/scenes",
            files={"glb": ("scene.glb", glb_bytes(), "model/gltf-binary")},
            data={"slugPath": "kitchen"},
        )
    )["manifest"]
    robot = ok(
        http.post(
            f"{base}/api/publish/robots",
            files={"bundle": ("robot.zip", robot_zip(), "application/zip")},
            data={"slugPath": "arm", "robotKey": "tiny/arm", "title": "Arm"},
        )
    )["manifest"]
    deployment = ok(
        http.post(
            f"{base}/api/deployments",
            json={"title": "Walker", "policyRef": refs[0], "runtimeKind": "browser.mujoco.onnx"},
        )
    )["deployment"]
    dataset = ok(
        http.post(
            f"{base}/api/datasets/uploads",
            data={"title": "Clips", "kind": "human_wbc"},
            files=[("files", ("clip.mp4", MP4, "video/mp4"))],
        )
    )["items"][0]
    matchup = ok(requests.post(f"{base}/api/arena/launch"))["matchup"]
    job = ok(
        http.post(
            f"{base}/api/scenegen/jobs",
            data={
                "slugPath": "room",
                "title": "Room",
                "boxes": json.dumps([{"x": 0.1, "y": 0.2, "width": 0.3, "height": 0.5}]),
            },
            files={"image": ("photo.png", png_bytes(64, 48), "image/png")},
        )
    )["job"]
    return {
        "policyRefs": refs,
        "sceneRef": f"{scene['owner']}/{scene['slugPath']}",
        "robotRef": f"{robot['owner']}/{robot['slugPath']}",
        "deploymentId": deployment["id"],
        "datasetId": dataset["id"],
        "matchupId": matchup["id"],
        "jobId": job["id"],
    }


# ---- hooks: steer some generated requests onto the seeded resources -------------------------------


@functools.cache
def assets() -> tuple[bytes, bytes, bytes, bytes, str, str]:
    """Valid uploads and fields: ONNX policy, GLB scene, robot zip, PNG photo, policy config, SceneGen boxes."""
    boxes = json.dumps([{"x": 0.2, "y": 0.2, "width": 0.5, "height": 0.5}])
    return mlp_onnx(), glb_bytes(), robot_zip(), png_bytes(64, 48), json.dumps(onnx_metadata_config()), boxes


def body_choices(label: str) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """For an operation: field -> known-good values that may each replace the generated value, and one
    overlay of known-good values for every field a request needs to succeed (the rest stays fuzzed)."""
    if not KNOWN:
        return {}, {}
    refs = KNOWN.get("policyRefs", [])
    onnx, glb, bundle, photo, metadata_config, boxes = assets()
    fields: dict[str, dict[str, list[Any]]] = {
        "POST /api/api-tokens": {"name": ["laptop"]},
        "POST /api/publish/scenes": {"owner": [OWNER], "glb": [glb], "preview": [photo]},
        "POST /api/publish/robots": {"owner": [OWNER], "bundle": [bundle], "robotKey": ["tiny/arm"]},
        "POST /api/publish/policies": {
            "owner": [OWNER],
            "model": [onnx],
            "runtimeAdapter": ["onnx_metadata_v1", "unitree_velocity_g1_v0"],
            "config": [metadata_config, deploy_yaml()],
            "defaultRobotRef": [KNOWN.get("robotRef")],
            "defaultSceneRef": [KNOWN.get("sceneRef")],
        },
        "POST /api/deployments": {"title": ["Walker"], "policyRef": refs},
        "POST /api/datasets/uploads": {"title": ["Clips"], "files": [[MP4]]},
        "POST /api/training/jobs": {"title": ["Run"], "datasetIds": [[KNOWN.get("datasetId")]], "basePolicyRef": refs},
        "POST /api/scenegen/jobs": {"owner": [OWNER], "title": ["Room"], "image": [photo], "boxes": [boxes]},
        "POST /api/arena/control": {"matchupId": [KNOWN.get("matchupId")]},
        "POST /api/arena/vote": {"matchupId": [KNOWN.get("matchupId")]},
        "POST /sessions": {"policy_path": [KNOWN.get("checkpoint")], "camera_names": [["front"]]},
    }
    complete: dict[str, dict[str, Any]] = {
        "POST /api/publish/scenes": {"owner": OWNER, "glb": glb},
        "POST /api/publish/robots": {"owner": OWNER, "bundle": bundle, "robotKey": "tiny/arm"},
        "POST /api/publish/policies": {
            "owner": OWNER,
            "model": onnx,
            "runtimeAdapter": "onnx_metadata_v1",
            "config": metadata_config,
        },
        "POST /api/deployments": {"title": "Walker", "policyRef": refs[0] if refs else None},
        "POST /api/datasets/uploads": {"title": "Clips", "kind": "egocentric_video", "files": [MP4]},
        "POST /api/training/jobs": {"title": "Run", "datasetIds": [KNOWN.get("datasetId")]},
        "POST /api/scenegen/jobs": {"owner": OWNER, "title": "Room", "image": photo, "boxes": boxes},
        "POST /sessions": {
            "session_id": "fuzz-created",
            "policy_path": KNOWN.get("checkpoint"),
            "camera_names": ["front"],
            "workspace_id": None,
        },
    }
    choices = {k: [v for v in values if v is not None] for k, values in fields.get(label, {}).items()}
    return {k: v for k, v in choices.items() if v}, complete.get(label, {})


PATH_IDS = {"matchupId": "matchupId", "jobId": "jobId", "session_id": "sessionId", "tokenId": "tokenId"}


def with_substitutions(
    value: Any, choices: dict[str, list[Any]], complete: dict[str, Any] | None = None
) -> st.SearchStrategy:
    """``value`` with each field kept or replaced by a known value, or (sometimes) with ``complete`` laid over it."""
    if not isinstance(value, dict) or not choices:
        return st.just(value)
    picks = st.fixed_dictionaries({k: st.sampled_from([KEEP, *v]) for k, v in choices.items()})
    mixed = picks.map(lambda picked: {**value, **{k: v for k, v in picked.items() if v is not KEEP}})
    return st.one_of(mixed, st.just({**value, **complete})) if complete else mixed


def flatmap_body(context, body):
    return with_substitutions(body, *body_choices(context.operation.label))


def flatmap_path_parameters(context, path_parameters):
    known = {name: [KNOWN[key]] for name, key in PATH_IDS.items() if KNOWN.get(key)}
    return with_substitutions(path_parameters, {k: v for k, v in known.items() if k in (path_parameters or {})})


for schema in (cloud_schema, session_schema):
    schema.hook(flatmap_body)
    schema.hook(flatmap_path_parameters)


# ---- the cloud API --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cloud_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FastAPI]]:
    """The real app (ROS off: the cloud API does not use it) on uvicorn, seeded; Video2Robot is the stand-in."""
    with pytest.MonkeyPatch.context() as patch, running_standin() as (standin_url, _):
        patch.setenv(URL_ENV, standin_url)
        patch.setenv(DELAY_ENV, "0")
        app = create_app(tmp_path_factory.mktemp("fuzz-cloud") / "data", enable_ros=False)
        with serve(app) as base:
            db = app.state.cloud_db
            known = seed_cloud(base, bearer(create_token(db, OWNER, "seed")["token"]))
            known["tokenId"] = create_token(db, OWNER, "victim")["id"]
            KNOWN.update(known)
            yield base, app
            for key in known:
                KNOWN.pop(key, None)


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def test_fuzzing_reaches_past_auth_and_onto_seeded_resources(cloud_app: tuple[str, FastAPI], http) -> None:
    """Guard the setup itself: a fresh token authenticates, seeded ids resolve, and the hooks can inject them."""
    base, app = cloud_app
    headers = bearer(create_token(app.state.cloud_db, OWNER, "guard")["token"])
    assert http.get(f"{base}/api/api-tokens", headers=headers).status_code == 200
    assert http.get(f"{base}/api/arena/matchup/{KNOWN['matchupId']}").status_code == 200
    assert http.get(f"{base}/api/scenegen/jobs/{KNOWN['jobId']}").status_code == 200
    deployments = http.get(f"{base}/api/deployments", headers=headers).json()["deployments"]
    assert KNOWN["deploymentId"] in {d["id"] for d in deployments}
    generated = {"title": "", "policyRef": "x", "runtimeKind": "browser.mujoco.onnx"}
    steered = find(with_substitutions(generated, *body_choices("POST /api/deployments")), lambda b: b != generated)
    assert steered["title"] == "Walker" or steered["policyRef"] in KNOWN["policyRefs"]
    path = find(flatmap_path_parameters(None, {"matchupId": "nope"}), lambda p: p["matchupId"] != "nope")
    assert path == {"matchupId": KNOWN["matchupId"]}


@cloud_schema.parametrize()
def test_cloud_api_honours_its_contract(case, cloud_app: tuple[str, FastAPI], http: requests.Session) -> None:
    """No 5xx, documented statuses only, documented bodies and media types (see the module docstring)."""
    base, app = cloud_app
    headers = bearer(create_token(app.state.cloud_db, OWNER, "fuzz")["token"])
    case.call_and_validate(base_url=base, session=http, headers=headers, checks=CLOUD_CHECKS)


# ---- the session API ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def session_app(tmp_path_factory: pytest.TempPathFactory, small_act_checkpoint: Path) -> Iterator[tuple[str, FastAPI]]:
    """The real app with ROS 2 on (its own domain, like ``ros_domain`` but for the module), one ACT session."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROS_DOMAIN_ID", str(next_ros_domain()))
        patch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        app = create_app(tmp_path_factory.mktemp("fuzz-sessions") / "data", enable_ros=True)
        with serve(app) as base:
            KNOWN.update(sessionId=SESSION_ID, checkpoint=str(small_act_checkpoint))
            yield base, app
            KNOWN.pop("sessionId", None)
            KNOWN.pop("checkpoint", None)


@pytest.fixture(scope="module")
def app_document(session_app: tuple[str, FastAPI]) -> SpecValidator:
    return SpecValidator(session_app[1].openapi())


def ensure_session(app: FastAPI) -> None:
    """The seeded session exists (a fuzzed DELETE may have removed it)."""
    manager = app.state.manager
    try:
        manager.get(SESSION_ID)
    except SessionNotFound:
        manager.create(SESSION_ID, KNOWN["checkpoint"], ["front"])


@session_schema.parametrize()
def test_session_api_honours_its_contract(
    case, session_app: tuple[str, FastAPI], app_document: SpecValidator, http: requests.Session
) -> None:
    """No 5xx; bodies of documented statuses match the spec; other statuses match the app's own document."""
    base, app = session_app
    ensure_session(app)
    response = case.call_and_validate(base_url=base, session=http, checks=SESSION_CHECKS)
    method, path = case.operation.method.lower(), case.operation.path
    if case.method.lower() != method:  # the coverage phase's unexpected-method probes (405)
        return
    if str(response.status_code) not in case.operation.definition.raw["responses"]:
        own = app_document.spec["paths"][path][method]["responses"]
        assert str(response.status_code) in own, f"{case.method} {path} answered an undocumented {response.status_code}"
        app_document.validate_response(method, path, response.status_code, response.json())

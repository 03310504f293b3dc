"""The session API through the real app (lifespan, ROS 2 node, SQLite store, ACT policies).

Every 200/422 body is validated against ``inference-server.openapi.json`` (the seed
contract). The seed spec documents no 400/404/409, so those bodies are validated against
the app's own generated OpenAPI document (``ErrorDetail``) and checked to carry a string
``detail``.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from rclpy.validate_full_topic_name import validate_full_topic_name

from api.app import create_app
from tests.openapi_validation import SpecValidator

CREATE_SCHEMAS = ("CreateSessionRequest", "CreateSessionResponse", "SessionStatusResponse")
PER_SESSION_ROUTES = [
    ("GET", "/sessions/{session_id}"),
    ("DELETE", "/sessions/{session_id}"),
    ("POST", "/sessions/{session_id}/start"),
    ("POST", "/sessions/{session_id}/stop"),
    ("POST", "/sessions/{session_id}/restart"),
    ("POST", "/debug/sessions/{session_id}/reset"),
    ("GET", "/debug/sessions/{session_id}/queue"),
]
ROOM_MSG_TYPES = {"camera": "sensor_msgs/msg/Image", "joint": "sensor_msgs/msg/JointState"}
WAIT_S = 5.0


# ---- helpers -------------------------------------------------------------------------------------
class Api:
    """A TestClient that checks every response: status, JSON, and its schema.

    Statuses the seed spec documents are validated against it; others (400/404/409) against
    the app's own OpenAPI document, which must document them.
    """

    def __init__(self, client: TestClient, contract: SpecValidator) -> None:
        self.client = client
        self.contract = contract
        self.own = SpecValidator(client.app.openapi())

    @property
    def app(self) -> Any:
        return self.client.app

    def call(
        self,
        method: str,
        template: str,
        status: int = 200,
        *,
        json: Any = None,
        content: bytes | None = None,
        documented: bool = True,
        **path_params: str,
    ) -> Any:
        url = template.format(**{k: quote(v, safe="") for k, v in path_params.items()})
        kwargs: dict[str, Any] = {}
        if content is not None:
            kwargs = {"content": content, "headers": {"content-type": "application/json"}}
        elif json is not None:
            kwargs = {"json": json}
        response = self.client.request(method, url, **kwargs)
        assert response.status_code == status, (
            f"{method} {url}: expected {status}, got {response.status_code}: {response.text[:2000]}"
        )
        assert response.headers.get("content-type", "").startswith("application/json"), response.headers
        if str(status) in self.contract.documented_statuses(method, template):
            return self.contract.validate_http_response(template, response)
        body = response.json()
        assert set(body) == {"detail"} and isinstance(body["detail"], str) and body["detail"], body
        if documented:
            self.own.validate_response(method, template, status, body)
        return body

    def create(self, session_id: str, policy: Path | str, status: int = 200, **fields: Any) -> Any:
        return self.call(
            "POST", "/sessions", status, json={"session_id": session_id, "policy_path": str(policy), **fields}
        )

    def session(self, session_id: str) -> dict[str, Any]:
        return self.call("GET", "/sessions/{session_id}", session_id=session_id)

    def control(self, action: str, session_id: str, status: int = 200, **kwargs: Any) -> Any:
        return self.call("POST", f"/sessions/{{session_id}}/{action}", status, session_id=session_id, **kwargs)

    def queue(self, session_id: str) -> dict[str, Any]:
        return self.call("GET", "/debug/sessions/{session_id}/queue", session_id=session_id)

    def topics(self) -> dict[str, list[str]]:
        return dict(self.app.state.ros_node.get_topic_names_and_types())


@contextmanager
def open_api(data_dir: Path, contract: SpecValidator, raise_server_exceptions: bool = True) -> Iterator[Api]:
    """A fresh app (lifespan running) on ``data_dir``."""
    app = create_app(data_dir, enable_ros=True)
    with TestClient(app, raise_server_exceptions=raise_server_exceptions) as client:
        yield Api(client, contract)


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def check_room(room: dict[str, Any], room_id: str, workspace_id: str, msg_type: str) -> None:
    assert set(room) == {"room_id", "topic", "msg_type"}, room
    assert room["room_id"] == room_id
    assert room["msg_type"] == msg_type
    assert validate_full_topic_name(room["topic"]) is True  # raises InvalidTopicNameException otherwise
    assert room["topic"].split("/")[1:] == ["runrobot", workspace_id, room_id], room


def check_rooms_match(created: dict[str, Any], status: dict[str, Any]) -> None:
    """``POST /sessions`` room ids are the ones ``GET /sessions/{id}`` reports, on valid ROS topics."""
    ws = created["workspace_id"]
    rooms = status["rooms"]
    assert status["workspace_id"] == ws
    assert set(rooms) == {"cameras", "joint_input", "joint_output"}
    assert set(rooms["cameras"]) == set(created["camera_room_ids"]) == set(status["camera_names"])
    for cam, room_id in created["camera_room_ids"].items():
        check_room(rooms["cameras"][cam], room_id, ws, ROOM_MSG_TYPES["camera"])
    check_room(rooms["joint_input"], created["joint_input_room_id"], ws, ROOM_MSG_TYPES["joint"])
    check_room(rooms["joint_output"], created["joint_output_room_id"], ws, ROOM_MSG_TYPES["joint"])
    all_ids = [*created["camera_room_ids"].values(), created["joint_input_room_id"], created["joint_output_room_id"]]
    assert len(set(all_ids)) == len(all_ids), f"room ids collide: {all_ids}"


def all_rooms(status: dict[str, Any]) -> list[dict[str, str]]:
    rooms = status["rooms"]
    return [*rooms["cameras"].values(), rooms["joint_input"], rooms["joint_output"]]


def check_rooms_on_ros(api: Api, status: dict[str, Any]) -> None:
    """Each room is a live ROS 2 topic of its message type on the sidecar node."""
    wanted = {room["topic"]: room["msg_type"] for room in all_rooms(status)}

    def live() -> bool:
        topics = api.topics()
        return all(msg in topics.get(topic, []) for topic, msg in wanted.items())

    wait_for(live, f"topics {sorted(wanted)} in the ROS graph")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid4().hex[:8]}"


# ---- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def contract(inference_spec: dict) -> SpecValidator:
    return SpecValidator(inference_spec)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def api(ros_domain: int, data_dir: Path, contract: SpecValidator) -> Iterator[Api]:
    with open_api(data_dir, contract) as opened:
        yield opened


@pytest.fixture
def policy(small_act_checkpoint: Path) -> Path:
    return small_act_checkpoint


@pytest.fixture(scope="module")
def generated_openapi(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The app's OpenAPI document (no lifespan, nothing started)."""
    return create_app(tmp_path_factory.mktemp("openapi"), enable_ros=False).openapi()


# ---- the generated document against the contract ------------------------------------------------
def test_app_openapi_has_every_spec_operation(contract: SpecValidator, generated_openapi: dict) -> None:
    generated = SpecValidator(generated_openapi).operations()
    missing = contract.operations() - generated
    assert not missing, f"operations in the spec but not in the app: {sorted(missing)}"
    assert len(contract.operations()) == 13


@pytest.mark.parametrize("name", CREATE_SCHEMAS)
def test_app_schemas_match_spec(name: str, inference_spec: dict, generated_openapi: dict) -> None:
    spec_schema = inference_spec["components"]["schemas"][name]
    app_schema = generated_openapi["components"]["schemas"].get(name)
    assert app_schema is not None, f"the app does not define schema {name}"
    assert list(app_schema["properties"]) == list(spec_schema["properties"])
    assert sorted(app_schema.get("required", [])) == sorted(spec_schema.get("required", []))

    def shape(prop: dict) -> dict:
        return {k: v for k, v in prop.items() if k not in ("title", "description")}

    for prop, schema in spec_schema["properties"].items():
        assert shape(app_schema["properties"][prop]) == shape(schema), f"{name}.{prop} differs from the spec"


def _operation_id_params() -> list[Any]:
    from tests.conftest import load_spec

    params = []
    for path, item in load_spec("inference-server.openapi.json")["paths"].items():
        for method in item:
            params.append(pytest.param(method, path, id=f"{method.upper()} {path}"))
    return params


@pytest.mark.parametrize(("method", "path"), _operation_id_params())
def test_app_operation_ids_match_spec(method: str, path: str, inference_spec: dict, generated_openapi: dict) -> None:
    """Generated clients name their methods after operationIds."""
    assert (
        generated_openapi["paths"][path][method]["operationId"] == inference_spec["paths"][path][method]["operationId"]
    )


def test_app_documents_its_error_responses(generated_openapi: dict) -> None:
    own = SpecValidator(generated_openapi)
    for method, template in PER_SESSION_ROUTES:
        own.validate_response(method, template, 404, {"detail": "session 'x' not found"})
        with pytest.raises(AssertionError, match="body does not match"):
            own.validate_response(method, template, 404, {"detail": ["x"]})
    for status in (400, 409):
        own.validate_response("POST", "/sessions", status, {"detail": "reason"})


def test_spec_validator_catches_contract_violations(contract: SpecValidator) -> None:
    """The helper is only useful if it fails: undocumented statuses, wrong shapes, broken $refs."""
    with pytest.raises(AssertionError, match="status 404, which the spec does not document"):
        contract.validate_response("GET", "/sessions/{session_id}", 404, {"detail": "x"})
    with pytest.raises(AssertionError, match="not documented"):
        contract.validate_response("PUT", "/sessions", 200, [])
    with pytest.raises(AssertionError, match=r"\$\[0\]: 'rooms' is a required property"):
        contract.validate_response("GET", "/sessions", 200, [{"session_id": "s"}])
    with pytest.raises(AssertionError, match=r"\$\.detail\[0\]\.loc\[0\]"):
        contract.validate_response("POST", "/sessions", 422, {"detail": [{"loc": [1.5], "msg": "m", "type": "t"}]})
    with pytest.raises(AssertionError, match=r"\$\.camera_room_ids\.front: 3 is not of type 'string'"):
        contract.validate_response(
            "POST",
            "/sessions",
            200,
            {
                "workspace_id": "w",
                "camera_room_ids": {"front": 3},
                "joint_input_room_id": "a",
                "joint_output_room_id": "b",
            },
        )
    assert contract.response_schema("GET", "/sessions", 200)["items"] == {
        "$ref": "#/components/schemas/SessionStatusResponse"
    }
    # A spec with a `default` response accepts any status, checked against that schema.
    generic = SpecValidator(
        {
            "openapi": "3.0.3",
            "paths": {"/x": {"get": {"responses": {"default": {"$ref": "#/components/responses/Err"}}}}},
            "components": {
                "responses": {"Err": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/E"}}}}},
                "schemas": {
                    "E": {
                        "type": "object",
                        "required": ["error"],
                        "properties": {"error": {"type": "string", "nullable": True}},
                    }
                },
            },
        }
    )
    generic.validate_response("GET", "/x", 503, {"error": None})
    with pytest.raises(AssertionError, match="'error' is a required property"):
        generic.validate_response("GET", "/x", 500, {"detail": "x"})


# ---- health ---------------------------------------------------------------------------------------
def test_root_and_health(api: Api, policy: Path, data_dir: Path) -> None:
    root = api.call("GET", "/")
    assert root["status"] == "ok" and root["version"] == api.app.version and root["sessions"] == 0
    health = api.call("GET", "/health")
    assert health["status"] == "healthy"
    assert health["ros"] == {"enabled": True, "node": "/runrobot_sidecar"}
    assert health["data_dir"] == str(data_dir)
    assert health["sessions"] == {"total": 0, "running": 0, "by_status": {}}

    api.create("health_a", policy)
    api.control("start", "health_a")
    api.create("health_b", policy)
    assert api.call("GET", "/")["sessions"] == 2
    health = api.call("GET", "/health")
    assert health["sessions"] == {"total": 2, "running": 1, "by_status": {"running": 1, "created": 1}}
    assert health["uptime_s"] > 0


# ---- create ---------------------------------------------------------------------------------------
def test_create_generates_workspace_and_rooms_match_status(api: Api, policy: Path) -> None:
    created = api.create("my-session", policy)
    assert created["workspace_id"], created
    assert validate_full_topic_name(f"/{created['workspace_id']}") is True
    assert list(created["camera_room_ids"]) == ["front"]
    status = api.session("my-session")
    check_rooms_match(created, status)
    assert status["session_id"] == "my-session"
    assert status["status"] == "created"
    assert status["policy_path"] == str(policy)
    assert status["camera_names"] == ["front"]
    assert status["error_message"] is None
    assert status["inference_stats"]["chunks"] == 0
    assert status["stats"]["policy_kind"] == "act" and status["stats"]["chunk_size"] == 20
    check_rooms_on_ros(api, status)

    listed = api.call("GET", "/sessions")
    assert [s["session_id"] for s in listed] == ["my-session"]
    assert listed[0]["rooms"] == status["rooms"]

    # A second session without a workspace gets a workspace of its own.
    other = api.create("other", policy)
    assert other["workspace_id"] != created["workspace_id"]
    assert {s["session_id"] for s in api.call("GET", "/sessions")} == {"my-session", "other"}


def test_create_uses_given_workspace(api: Api, policy: Path) -> None:
    created = api.create("ws_user", policy, workspace_id="team_ws1", camera_names=["front"])
    assert created["workspace_id"] == "team_ws1"
    status = api.session("ws_user")
    assert status["workspace_id"] == "team_ws1"
    check_rooms_match(created, status)
    assert all(room["topic"].startswith("/runrobot/team_ws1/") for room in all_rooms(status))
    check_rooms_on_ros(api, status)


@pytest.mark.parametrize("workspace_id", ["bad-ws", "1ws", "ws/x", "ws x", "ws__x", "wś"])
def test_invalid_workspace_id_is_rejected(api: Api, policy: Path, workspace_id: str) -> None:
    body = api.create("bad_ws_session", policy, status=400, workspace_id=workspace_id)
    assert "workspace_id" in body["detail"] and workspace_id in body["detail"]
    assert api.call("GET", "/sessions") == []
    api.call("GET", "/sessions/{session_id}", 404, session_id="bad_ws_session")


def test_duplicate_session_id_and_clashing_rooms_conflict(api: Api, policy: Path) -> None:
    first = api.create("dup", policy, workspace_id="shared_ws")
    body = api.create("dup", policy, status=409)
    assert "dup" in body["detail"]
    # "dup-" maps to the same ROS room names as "dup" in the same workspace.
    body = api.create("dup-", policy, status=409, workspace_id="shared_ws")
    assert "rooms already in use" in body["detail"]
    assert [s["session_id"] for s in api.call("GET", "/sessions")] == ["dup"]
    assert api.session("dup")["rooms"]["joint_output"]["room_id"] == first["joint_output_room_id"]


def test_policy_path_that_does_not_exist(api: Api, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "checkpoint"
    body = api.create("nopolicy", missing, status=400)
    assert str(missing) in body["detail"] and "does not exist" in body["detail"]
    assert api.call("GET", "/sessions") == []


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({}, "no config.json"),
        ({"config.json": "{not json"}, "invalid JSON"),
        ({"config.json": '{"type": "diffusion"}'}, "not supported"),
        ({"config.json": '{"type": "act"}'}, "could not load ACT checkpoint"),
    ],
    ids=["empty-dir", "bad-json", "unsupported-type", "act-without-weights"],
)
def test_policy_directory_that_is_not_a_checkpoint(
    api: Api, tmp_path: Path, files: dict[str, str], reason: str
) -> None:
    ckpt = tmp_path / "not_a_checkpoint"
    ckpt.mkdir()
    for name, text in files.items():
        (ckpt / name).write_text(text)
    body = api.create("badpolicy", ckpt, status=400)
    assert reason in body["detail"], body
    assert api.call("GET", "/sessions") == []


def test_policy_path_that_is_a_file(api: Api, tmp_path: Path) -> None:
    file = tmp_path / "model.safetensors"
    file.write_bytes(b"\0" * 16)
    body = api.create("filepolicy", file, status=400)
    assert "not a checkpoint directory" in body["detail"]


@pytest.mark.parametrize(
    ("camera_names", "reason"),
    [
        (["wrist"], "policy expects cameras ['front']"),
        (["front", "wrist"], "policy expects cameras ['front']"),
        ([], "policy expects cameras ['front']"),
        (["front", "front"], "duplicates"),
        (["front-cam"], "not a valid ROS name"),
    ],
    ids=["other", "extra", "none", "duplicate", "invalid-name"],
)
def test_camera_names_must_fit_the_checkpoint(api: Api, policy: Path, camera_names: list[str], reason: str) -> None:
    body = api.create("cams", policy, status=400, camera_names=camera_names)
    assert reason in body["detail"], body
    assert api.call("GET", "/sessions") == []


@pytest.mark.parametrize(
    ("payload", "loc", "error_type"),
    [
        ({"session_id": "s"}, ["body", "policy_path"], "missing"),
        ({"policy_path": "/x"}, ["body", "session_id"], "missing"),
        ({"session_id": 5, "policy_path": "/x"}, ["body", "session_id"], "string_type"),
        ({"session_id": "s", "policy_path": "/x", "camera_names": "front"}, ["body", "camera_names"], "list_type"),
        ({"session_id": "s", "policy_path": "/x", "camera_names": [1]}, ["body", "camera_names", 0], "string_type"),
        ({"session_id": "s", "policy_path": "/x", "workspace_id": ["w"]}, ["body", "workspace_id"], "string_type"),
        (b"{not json", ["body", 1], "json_invalid"),
        (b"", ["body"], "missing"),
    ],
    ids=["no-policy", "no-session-id", "int-id", "cams-str", "cams-int", "ws-list", "bad-json", "no-body"],
)
def test_create_validation_errors_are_422(api: Api, payload: Any, loc: list[Any], error_type: str) -> None:
    if isinstance(payload, bytes):
        body = api.call("POST", "/sessions", 422, content=payload)
    else:
        body = api.call("POST", "/sessions", 422, json=payload)
    errors = body["detail"]
    assert any(e["loc"] == loc and e["type"] == error_type for e in errors), errors
    assert api.call("GET", "/sessions") == []


def test_session_id_too_long_for_a_ros_topic_is_rejected(
    ros_domain: int, data_dir: Path, policy: Path, contract: SpecValidator
) -> None:
    long_id = "L" * 300
    with open_api(data_dir, contract, raise_server_exceptions=False) as api:
        response = api.client.post("/sessions", json={"session_id": long_id, "policy_path": str(policy)})
        listed = api.client.get("/sessions").json()
        assert response.status_code == 400, f"{response.status_code}: {response.text[:300]}"
        assert "session_id" in response.json()["detail"]
        assert listed == []


def test_every_created_session_is_addressable(api: Api, policy: Path) -> None:
    response = api.client.post("/sessions", json={"session_id": "a/b", "policy_path": str(policy)})
    if response.status_code == 200:
        api.session("a/b")
        api.call("DELETE", "/sessions/{session_id}", session_id="a/b")
    else:
        assert response.status_code in (400, 422), response.text


# ---- lifecycle ------------------------------------------------------------------------------------
def test_start_stop_restart(api: Api, policy: Path) -> None:
    api.create("life", policy)
    assert "started" in api.control("start", "life")["message"]
    status = api.session("life")
    assert status["status"] == "running"
    assert status["stats"]["started_at"] is not None
    # The control loop really ticks while running ...
    first = api.queue("life")["next_timestep"]
    wait_for(lambda: api.queue("life")["next_timestep"] > first + 2, "control ticks while running")
    assert "already running" in api.control("start", "life")["message"]

    assert "stopped" in api.control("stop", "life")["message"]
    assert api.session("life")["status"] == "stopped"
    # ... and not after stop.
    stopped_at = api.queue("life")["next_timestep"]
    time.sleep(0.2)
    assert api.queue("life")["next_timestep"] == stopped_at
    assert "not running" in api.control("stop", "life")["message"]
    assert api.session("life")["status"] == "stopped"

    assert "restarted" in api.control("restart", "life")["message"]
    assert api.session("life")["status"] == "running"
    wait_for(lambda: api.queue("life")["next_timestep"] > 2, "control ticks after restart")
    # Restart while running stays running.
    api.control("restart", "life")
    assert api.session("life")["status"] == "running"
    assert api.call("GET", "/health")["sessions"]["running"] == 1


def test_running_without_inputs_pauses_on_stale_inputs(api: Api, policy: Path) -> None:
    api.create("stale", policy)
    api.control("start", "stale")

    def paused() -> dict | None:
        status = api.session("stale")
        return status if status["inference_stats"]["stale_input_pauses"] >= 1 else None

    status = wait_for(paused, "a stale-input pause")
    reason = status["stats"]["status_reason"]
    assert "camera front" in reason and "no frame yet" in reason, reason
    assert "joint input" in reason and "no joint state" in reason, reason
    time.sleep(0.2)  # many more ticks: still one pause, no commands, no inference
    status = api.session("stale")
    stats = status["inference_stats"]
    assert status["status"] == "running"
    assert stats["stale_input_pauses"] == 1
    assert stats["chunks"] == 0 and stats["queue_depth"] == 0
    assert status["stats"]["commands_published"] == 0
    assert status["stats"]["input_ages_s"] == {"camera.front": None, "joints": None}


def test_delete_then_not_found(api: Api, policy: Path) -> None:
    created = api.create("gone", policy, workspace_id="del_ws")
    status = api.session("gone")
    check_rooms_on_ros(api, status)
    api.control("start", "gone")
    assert "deleted" in api.call("DELETE", "/sessions/{session_id}", session_id="gone")["message"]

    body = api.call("GET", "/sessions/{session_id}", 404, session_id="gone")
    assert "gone" in body["detail"]
    api.call("DELETE", "/sessions/{session_id}", 404, session_id="gone")
    assert api.call("GET", "/sessions") == []
    topics = {room["topic"] for room in all_rooms(status)}
    wait_for(lambda: not topics & set(api.topics()), "deleted session's topics to leave the ROS graph")

    # The id and its rooms are free again.
    again = api.create("gone", policy, workspace_id="del_ws")
    assert again == created
    assert api.session("gone")["status"] == "created"


@pytest.mark.parametrize("session_id", ["no_such_session", "with space", "dash-and.dot"])
def test_unknown_session_is_404_on_every_route(api: Api, session_id: str) -> None:
    for method, template in PER_SESSION_ROUTES:
        body = api.call(method, template, 404, session_id=session_id)
        assert session_id in body["detail"], (method, template, body)


# ---- debug ----------------------------------------------------------------------------------------
def test_debug_logs_show_recent_app_records(api: Api, policy: Path) -> None:
    sid = new_id("logcheck")
    api.create(sid, policy)
    api.control("start", sid)
    logs = api.call("GET", "/debug/logs")
    assert logs["count"] == len(logs["logs"]) and 0 < logs["count"] <= logs["capacity"]
    for record in logs["logs"]:
        assert {"timestamp", "level", "logger", "message", "thread"} <= set(record), record
        assert record["level"] in logging.getLevelNamesMapping()
    timestamps = [r["timestamp"] for r in logs["logs"]]
    assert timestamps == sorted(timestamps)
    # Records of the app itself (not the HTTP client's request lines, which also name the id).
    created = [
        r for r in logs["logs"] if r["logger"] == "runtime.session.manager" and f"session {sid} created" in r["message"]
    ]
    assert len(created) == 1, [r for r in logs["logs"] if sid in r["message"]]
    assert created[0]["level"] == "INFO" and abs(created[0]["timestamp"] - time.time()) < 60

    def pause_logged() -> bool:
        records = api.call("GET", "/debug/logs")["logs"]
        return any(r["level"] == "WARNING" and f"session {sid}: paused" in r["message"] for r in records)

    wait_for(pause_logged, "the stale-input WARNING in /debug/logs")


def test_debug_system(api: Api, ros_domain: int, data_dir: Path) -> None:
    import torch

    info = api.call("GET", "/debug/system")
    assert {"cpu", "memory", "disk", "torch", "device"} <= set(info)
    assert info["cpu"]["count"] >= 1
    assert info["memory"]["total_mb"] > 0 and 0 <= info["memory"]["percent"] <= 100
    assert info["disk"]["path"] == str(data_dir) and info["disk"]["total_gb"] > 0
    assert info["torch"]["version"] == torch.__version__
    assert info["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    assert info["process"]["pid"] == os.getpid()
    assert info["ros"]["domain_id"] == ros_domain


def test_debug_queue_and_reset(api: Api, policy: Path) -> None:
    api.create("dbg", policy)
    queue = api.queue("dbg")
    assert queue["loaded"] is True and queue["status"] == "created" and queue["session_id"] == "dbg"
    assert queue["queue"]["size"] == 0 and queue["queue"]["chunk_size"] == 20
    assert {"next_timestep", "inference_in_flight", "fps", "period_ms", "input_ages_s", "inference_latency"} <= set(
        queue
    )
    assert queue["period_ms"] == pytest.approx(1e3 / queue["fps"], abs=1e-2)

    api.control("start", "dbg")
    wait_for(lambda: api.session("dbg")["inference_stats"]["stale_input_pauses"] == 1, "a stale-input pause")
    api.control("stop", "dbg")
    before = api.session("dbg")
    assert before["inference_stats"]["stale_input_pauses"] == 1
    assert api.queue("dbg")["next_timestep"] > 0

    assert "reset" in api.call("POST", "/debug/sessions/{session_id}/reset", session_id="dbg")["message"]
    after = api.session("dbg")
    counters = {k: v for k, v in after["inference_stats"].items() if isinstance(v, int)}
    assert counters and all(v == 0 for v in counters.values()), counters
    assert after["inference_stats"]["rejected_by_reason"] == {}
    assert after["stats"]["commands_published"] == 0 and after["stats"]["frames_received"] == {}
    assert after["status"] == "stopped", "a debug reset keeps the lifecycle state"
    assert api.queue("dbg")["next_timestep"] == 0


# ---- persistence ----------------------------------------------------------------------------------
def test_sessions_survive_a_restart_stopped(
    ros_domain: int, data_dir: Path, policy: Path, contract: SpecValidator
) -> None:
    with open_api(data_dir, contract) as api:
        created = api.create("keep", policy, workspace_id="persist_ws")
        api.control("start", "keep")
        assert api.session("keep")["status"] == "running"
        rooms = api.session("keep")["rooms"]

    with open_api(data_dir, contract) as api:
        listed = api.call("GET", "/sessions")
        assert [s["session_id"] for s in listed] == ["keep"]
        status = listed[0]
        assert status["status"] == "stopped", "a restored session must never come back running"
        assert status["workspace_id"] == "persist_ws" and status["rooms"] == rooms
        assert status["policy_path"] == str(policy) and status["camera_names"] == ["front"]
        check_rooms_match(created, status)
        assert status["inference_stats"] is None and "not loaded" in status["stats"]["status_reason"]
        assert api.call("GET", "/health")["sessions"]["by_status"] == {"stopped": 1}
        queue = api.queue("keep")
        assert queue["loaded"] is False and queue["queue"] is None and queue["status"] == "stopped"
        assert "no loaded state" in api.call("POST", "/debug/sessions/{session_id}/reset", session_id="keep")["message"]
        assert "not running" in api.control("stop", "keep")["message"]
        api.create("keep", policy, status=409)

        # Start loads the policy lazily.
        assert "started" in api.control("start", "keep")["message"]
        status = api.session("keep")
        assert status["status"] == "running" and status["error_message"] is None
        assert status["inference_stats"] is not None and status["stats"]["policy_kind"] == "act"
        check_rooms_on_ros(api, status)
        assert api.queue("keep")["loaded"] is True


def test_restored_session_whose_policy_vanished(
    ros_domain: int, data_dir: Path, tmp_path: Path, policy: Path, contract: SpecValidator
) -> None:
    ckpt = tmp_path / "ckpt_copy"
    try:
        shutil.copytree(policy, ckpt, copy_function=os.link)
    except OSError:
        shutil.copytree(policy, ckpt)
    with open_api(data_dir, contract) as api:
        api.create("orphan", ckpt)
    shutil.rmtree(ckpt)

    with open_api(data_dir, contract) as api:
        assert api.session("orphan")["status"] == "stopped"
        # Start/restart do not document 400 in the app's OpenAPI (see documented=False).
        body = api.control("start", "orphan", status=400, documented=False)
        assert str(ckpt) in body["detail"] and "does not exist" in body["detail"]
        status = api.session("orphan")
        assert status["status"] == "error" and status["error_message"] == body["detail"]
        api.control("restart", "orphan", status=400, documented=False)
        assert "deleted" in api.call("DELETE", "/sessions/{session_id}", session_id="orphan")["message"]
        assert api.call("GET", "/sessions") == []

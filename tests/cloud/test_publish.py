"""Publishing scenes, robots and policies through the real app.

Every response of the three publish operations is validated against the cloud spec. Bad
uploads must answer 400 with a useful message and leave nothing behind: no new file in the
store (nor an extracted bundle) and no row.
"""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from api.cloud.errors import CloudError
from api.cloud.publishing import get_manifest, list_manifests, publish_scene
from api.cloud.publishing.limits import UPLOAD_LIMITS
from runtime.policies.onnx_metadata import OnnxMetadataConfigError, load_onnx_metadata_policy
from runtime.policies.unitree_velocity import UnitreeVelocityConfigError, load_unitree_velocity_policy
from runtime.safe_zip import UnsafeZipError, safe_extract
from tests.cloud.fixtures import (
    bearer,
    broken_robot_zip,
    deploy_yaml,
    depth_onnx,
    glb_bytes,
    mlp_onnx,
    onnx_metadata_config,
    png_bytes,
    recurrent_onnx,
    robot_bundle_entries,
    robot_zip,
    symlink_zip,
    zip_bomb,
    zip_bytes,
)
from tests.openapi_validation import SpecValidator

PATHS = {"scene": "/api/publish/scenes", "robot": "/api/publish/robots", "policy": "/api/publish/policies"}
TABLES = ("scenes", "robots", "policies")
UNITREE = {"runtimeAdapter": "unitree_velocity_g1_v0"}
METADATA = {"runtimeAdapter": "onnx_metadata_v1"}


# ---- helpers ----------------------------------------------------------------------------------


def publish(
    client: TestClient,
    validator: SpecValidator,
    kind: str,
    headers: dict | None,
    files: dict,
    data: dict | None = None,
) -> tuple[int, dict]:
    """POST a multipart publish request; validate the response against the spec; return (status, body)."""
    response = client.post(PATHS[kind], headers=headers or {}, files=files, data=data or {})
    body = response.json()
    validator.validate_response("post", PATHS[kind], response.status_code, body)
    return response.status_code, body


def scene_files(glb: bytes | None = None, preview: bytes | None = None) -> dict:
    files = {"glb": ("scene.glb", glb if glb is not None else glb_bytes(), "model/gltf-binary")}
    if preview is not None:
        files["preview"] = ("preview.png", preview, "image/png")
    return files


def robot_files(bundle: bytes | None = None) -> dict:
    return {"bundle": ("robot.zip", bundle if bundle is not None else robot_zip(), "application/zip")}


def policy_files(model: bytes, depth: bytes | None = None) -> dict:
    files = {"model": ("policy.onnx", model, "application/octet-stream")}
    if depth is not None:
        files["depthModel"] = ("depth.onnx", depth, "application/octet-stream")
    return files


def snapshot(client: TestClient) -> tuple[frozenset[str], dict[str, int]]:
    """Every stored file and extracted bundle folder, and the row count of each asset table."""
    root: Path = client.app.state.file_store.root
    files = frozenset(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.parent.name == "bundles")
    db = client.app.state.cloud_db
    rows = {t: len(db.rows(t)) for t in TABLES}
    return files, rows


def fetch(client: TestClient, url: str):
    """GET a manifest URL (absolute, from the test server) through the app."""
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "testserver", url
    return client.get(parts.path)


def assert_rejected(status: int, body: dict, *fragments: str) -> None:
    assert status == 400, body
    for fragment in fragments:
        assert fragment.lower() in body["error"].lower(), body["error"]


# ---- auth and ownership (every operation) -----------------------------------------------------


def _valid_upload(kind: str) -> tuple[dict, dict]:
    if kind == "scene":
        return scene_files(), {}
    if kind == "robot":
        return robot_files(), {"robotKey": "tiny/arm"}
    return policy_files(mlp_onnx()), {"runtimeAdapter": "unitree_velocity_g1_v0", "config": deploy_yaml()}


@pytest.mark.parametrize("kind", list(PATHS))
def test_missing_invalid_and_revoked_tokens_are_401(
    client: TestClient, cloud_validator: SpecValidator, make_token, kind: str
) -> None:
    files, data = _valid_upload(kind)
    before = snapshot(client)
    token = make_token("alice")
    client.delete(f"/api/api-tokens/{token['id']}", headers=bearer(token["token"]))
    for headers in ({}, bearer("rr_not-a-real-token"), {"Authorization": "Basic abc"}, bearer(token["token"])):
        status, body = publish(client, cloud_validator, kind, headers, files, data)
        assert status == 401, body
        assert body == {"error": "Authentication required."}
    assert snapshot(client) == before


@pytest.mark.parametrize("kind", list(PATHS))
def test_owner_mismatch_is_403_and_matching_owner_is_fine(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, kind: str
) -> None:
    files, data = _valid_upload(kind)
    before = snapshot(client)
    status, body = publish(client, cloud_validator, kind, auth, files, {**data, "owner": "mallory"})
    assert status == 403 and "mallory" in body["error"]
    assert snapshot(client) == before
    status, body = publish(client, cloud_validator, kind, auth, files, {**data, "owner": "alice"})
    assert status == 201, body
    assert body["manifest"]["owner"] == "alice" and body["manifest"]["kind"] == kind


# ---- scenes -----------------------------------------------------------------------------------


def test_publish_scene_stores_files_served_at_manifest_urls(
    client: TestClient, cloud_validator: SpecValidator, auth: dict
) -> None:
    glb, preview = glb_bytes(), png_bytes()
    transform = {"position": [1, 2, 3], "quaternion": [0, 0, 0.7071068, 0.7071068], "scale": [2, 2, 2]}
    status, body = publish(
        client,
        cloud_validator,
        "scene",
        auth,
        scene_files(glb, preview),
        {
            "slugPath": "Parkour Course!",
            "title": "Parkour",
            "description": "Boxes.",
            "benchmarkSceneRef": "bob/stairs",
            "transform": json.dumps(transform),
        },
    )
    assert status == 201, body
    m = body["manifest"]
    assert m["slugPath"] == "parkour-course" and m["title"] == "Parkour" and m["description"] == "Boxes."
    assert m["benchmarkSceneRef"] == "bob/stairs" and m["mode"] == "benchmark_scene" and m["status"] == "active"
    assert m["transform"] == {k: [float(x) for x in v] for k, v in transform.items()}
    assert m["createdAt"] == m["updatedAt"] and m["createdAt"].endswith("Z")
    glb_response = fetch(client, m["glbUrl"])
    assert glb_response.status_code == 200 and glb_response.content == glb
    assert glb_response.headers["content-type"] == "model/gltf-binary"
    preview_response = fetch(client, m["previewUrl"])
    assert preview_response.content == preview and preview_response.headers["content-type"] == "image/png"
    assert get_manifest(client.app.state.cloud_db, "scene", "alice/parkour-course") == m


def test_scene_defaults_treat_blank_fields_as_absent(
    client: TestClient, cloud_validator: SpecValidator, auth: dict
) -> None:
    blanks = {k: "" for k in ("owner", "slugPath", "title", "description", "benchmarkSceneRef", "transform")}
    files = {**scene_files(), "preview": ("", b"", "application/octet-stream")}
    status, body = publish(client, cloud_validator, "scene", auth, files, blanks)
    assert status == 201, body
    m = body["manifest"]
    assert (m["owner"], m["slugPath"], m["title"]) == ("alice", "my-scene", "My Scene")
    assert m["benchmarkSceneRef"] == "chasebrignac/parkour" and m["mode"] == "benchmark_scene"
    assert m["previewUrl"] is None and m["description"]
    assert m["transform"] == {"position": [0, 0, 0], "quaternion": [0, 0, 0, 1], "scale": [1, 1, 1]}


def test_slugs_auto_increment_per_owner(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, make_token
) -> None:
    slugs = [
        publish(client, cloud_validator, "scene", auth, scene_files())[1]["manifest"]["slugPath"] for _ in range(3)
    ]
    assert slugs == ["my-scene", "my-scene-2", "my-scene-3"]
    named = [
        publish(client, cloud_validator, "scene", auth, scene_files(), {"slugPath": "Lab"})[1]["manifest"]["slugPath"]
        for _ in range(2)
    ]
    assert named == ["lab", "lab-2"]
    bob = bearer(make_token("bob")["token"])
    assert publish(client, cloud_validator, "scene", bob, scene_files())[1]["manifest"]["slugPath"] == "my-scene"
    db = client.app.state.cloud_db
    assert [m["slugPath"] for m in list_manifests(db, "scene", owner="alice")] == [*slugs, *named]
    assert len(list_manifests(db, "scene")) == 6 and list_manifests(db, "scene", status="draft") == []


def _truncated_glb() -> bytes:
    return glb_bytes()[:-40]


IDENTITY = {"quaternion": [0, 0, 0, 1], "scale": [1, 1, 1]}


@pytest.mark.parametrize(
    ("files", "data", "fragments"),
    [
        pytest.param(scene_files(b"this is not a glb at all"), {}, ("glb", "not a GLB"), id="not-glb"),
        pytest.param(scene_files(_truncated_glb()), {}, ("glb", "bytes"), id="truncated-glb"),
        pytest.param(scene_files(preview=b"\x89PNG\r\n\x1a\nnope"), {}, ("preview",), id="bad-preview"),
        pytest.param(scene_files(), {"transform": "{not json"}, ("transform", "JSON"), id="transform-json"),
        pytest.param(
            scene_files(),
            {"transform": json.dumps({"position": [0, 0], **IDENTITY})},
            ("position", "3"),
            id="transform-size",
        ),
        pytest.param(
            scene_files(),
            {"transform": '{"position": [0, 0, NaN], "quaternion": [0, 0, 0, 1], "scale": [1, 1, 1]}'},
            ("finite",),
            id="transform-nan",
        ),
        pytest.param(
            scene_files(),
            {"transform": json.dumps({"position": [0, 0, 0]})},
            ("quaternion", "scale"),
            id="transform-incomplete",
        ),
        pytest.param(scene_files(), {"slugPath": "!!!"}, ("slugPath",), id="bad-slug"),
        pytest.param(scene_files(), {"benchmarkSceneRef": "no-slash"}, ("benchmarkSceneRef",), id="bad-benchmark-ref"),
    ],
)
def test_bad_scene_uploads_are_400_and_leave_nothing(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, files: dict, data: dict, fragments: tuple
) -> None:
    before = snapshot(client)
    status, body = publish(client, cloud_validator, "scene", auth, files, data)
    assert_rejected(status, body, *fragments)
    assert snapshot(client) == before


def test_missing_glb_is_400(client: TestClient, cloud_validator: SpecValidator, auth: dict) -> None:
    status, body = publish(client, cloud_validator, "scene", auth, {"preview": ("p.png", png_bytes(), "image/png")})
    assert_rejected(status, body, "glb")


def test_publish_scene_function_for_internal_callers(client: TestClient) -> None:
    db, store = client.app.state.cloud_db, client.app.state.file_store
    m = publish_scene(db, store, "http://example.test/", "scenegen", glb=glb_bytes(), mode="visual_overlay", title="")
    assert m["mode"] == "visual_overlay" and m["title"] == "My Scene" and m["slugPath"] == "my-scene"
    assert m["glbUrl"].startswith("http://example.test/files/") and m["glbUrl"].endswith(".glb")
    with pytest.raises(CloudError) as err:
        publish_scene(db, store, "http://example.test/", "scenegen", glb=glb_bytes(), mode="hologram")
    assert err.value.status_code == 400 and "mode" in err.value.detail


def test_failed_db_write_discards_new_files(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import api.cloud.publishing.robots as robots
    import api.cloud.publishing.scenes as scenes

    def broken_insert(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    db, store = client.app.state.cloud_db, client.app.state.file_store
    before = snapshot(client)
    monkeypatch.setattr(scenes, "insert_asset", broken_insert)
    with pytest.raises(sqlite3.OperationalError):
        publish_scene(db, store, "http://t/", "alice", glb=glb_bytes(3.0), preview=png_bytes())
    monkeypatch.setattr(robots, "insert_asset", broken_insert)
    with pytest.raises(sqlite3.OperationalError):
        robots.publish_robot(db, store, "http://t/", "alice", bundle=robot_zip(), robot_key="tiny/arm")
    assert snapshot(client) == before


def test_upload_limits_stop_reading(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(client)
    monkeypatch.setitem(UPLOAD_LIMITS, "preview", 100)
    status, body = publish(client, cloud_validator, "scene", auth, scene_files(preview=png_bytes(64, 64, (1, 2, 3))))
    if len(png_bytes(64, 64, (1, 2, 3))) > 100:
        assert_rejected(status, body, "preview is too large")
    monkeypatch.setitem(UPLOAD_LIMITS, "glb", 100)
    monkeypatch.setitem(UPLOAD_LIMITS, "preview", 100)
    status, body = publish(client, cloud_validator, "scene", auth, scene_files(bytes(3 * 1024 * 1024)))
    assert_rejected(status, body, "too large")
    boundary = "runrobot-test-boundary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="glb"; filename="big.glb"\r\n\r\n'.encode()

    def chunked_body():  # no Content-Length: the limit must hold while receiving
        yield head
        for _ in range(8):
            yield bytes(1024 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        PATHS["scene"],
        headers={**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=chunked_body(),
    )
    assert "content-length" not in response.request.headers
    cloud_validator.validate_response("post", PATHS["scene"], response.status_code, response.json())
    assert_rejected(response.status_code, response.json(), "requests here are limited to 2.0 MB")
    assert snapshot(client) == before


def test_request_limit_stops_receiving_early() -> None:
    from api.cloud.publishing.uploads import _limited

    pulled = []

    async def receive() -> dict:
        pulled.append(1)
        return {"type": "http.request", "body": bytes(1024), "more_body": True}

    async def consume() -> None:
        limited = _limited(receive, 4096)
        for _ in range(100):
            await limited()

    with pytest.raises(CloudError, match="too large"):
        asyncio.run(consume())
    assert len(pulled) == 5


# ---- robots -----------------------------------------------------------------------------------


def test_publish_robot_serves_the_extracted_bundle(
    client: TestClient, cloud_validator: SpecValidator, auth: dict
) -> None:
    status, body = publish(
        client, cloud_validator, "robot", auth, robot_files(), {"robotKey": "tiny/arm", "title": "Tiny Arm"}
    )
    assert status == 201, body
    m = body["manifest"]
    assert (m["robotKey"], m["entryXmlPath"], m["title"], m["slugPath"]) == (
        "tiny/arm",
        "scene.xml",
        "Tiny Arm",
        "my-robot",
    )
    assert m["previewUrl"] is None and m["status"] == "active"
    xml = fetch(client, m["baseSceneUrl"])
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    assert xml.text == robot_bundle_entries()["scene.xml"]
    mesh = fetch(client, m["baseSceneUrl"].rsplit("/", 1)[0] + "/assets/link.stl")
    assert mesh.status_code == 200 and mesh.content == robot_bundle_entries()["assets/link.stl"]
    assert mesh.headers["content-type"] == "model/stl"
    escape = fetch(client, m["baseSceneUrl"].rsplit("/", 1)[0] + "/..%2F..%2Fcloud.db")
    assert escape.status_code == 404 and escape.json() == {"error": "File not found."}
    again = publish(client, cloud_validator, "robot", auth, robot_files(), {"robotKey": "tiny/arm"})[1]["manifest"]
    assert again["slugPath"] == "my-robot-2" and again["baseSceneUrl"] == m["baseSceneUrl"]


@pytest.mark.parametrize(
    ("bundle", "entry", "expected"),
    [
        (robot_zip(with_scene=False), "", "robot.xml"),
        (robot_zip(prefix="tiny_arm/"), "", "tiny_arm/scene.xml"),
        (robot_zip(), "robot.xml", "robot.xml"),
        (robot_zip(), "./robot.xml", "robot.xml"),
    ],
    ids=["single-xml", "wrapped-folder", "explicit", "explicit-dot"],
)
def test_entry_xml_detection(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, bundle: bytes, entry: str, expected: str
) -> None:
    status, body = publish(
        client, cloud_validator, "robot", auth, robot_files(bundle), {"robotKey": "tiny/arm", "entryXmlPath": entry}
    )
    assert status == 201, body
    assert body["manifest"]["entryXmlPath"] == expected
    assert body["manifest"]["baseSceneUrl"].endswith("/" + expected)


def _zip_with(name: str) -> bytes:
    return zip_bytes({**robot_bundle_entries(), name: "<mujoco/>"})


@pytest.mark.parametrize(
    ("bundle", "data", "fragments"),
    [
        (_zip_with("../evil.xml"), {}, ("..",)),
        (_zip_with("assets/../../evil.xml"), {}, ("..",)),
        (_zip_with("/etc/evil.xml"), {}, ("absolute",)),
        (symlink_zip(), {}, ("symlink",)),
        (zip_bomb(50), {}, ("zip bomb",)),
        (b"PK\x03\x04 not really a zip", {}, ("zip",)),
        (broken_robot_zip(), {}, ("MuJoCo", "mesh 'does_not_exist' not found")),
        (zip_bytes({"README.md": "no xml"}), {}, ("no MJCF",)),
        (zip_bytes({"a.xml": "<mujoco/>", "b.xml": "<mujoco/>"}), {}, ("entryXmlPath",)),
        (robot_zip(), {"entryXmlPath": "missing.xml"}, ("missing.xml", "scene.xml")),
        (robot_zip(), {"entryXmlPath": "../scene.xml"}, ("relative",)),
        (zip_bytes({"robot.xml": '<mujoco><include file="/etc/hosts.xml"/></mujoco>'}), {}, ("outside",)),
        (robot_zip(), {"robotKey": ""}, ("robotKey",)),
        (robot_zip(), {"robotKey": "bad key!"}, ("robotKey",)),
    ],
    ids=[
        "dotdot",
        "nested-dotdot",
        "absolute",
        "symlink",
        "zip-bomb",
        "not-zip",
        "mjcf-compile-error",
        "no-xml",
        "ambiguous-entry",
        "missing-entry",
        "escaping-entry",
        "external-include",
        "no-robot-key",
        "bad-robot-key",
    ],
)
def test_bad_robot_bundles_are_400_and_leave_nothing(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, bundle: bytes, data: dict, fragments: tuple
) -> None:
    before = snapshot(client)
    status, body = publish(
        client, cloud_validator, "robot", auth, robot_files(bundle), {"robotKey": "tiny/arm", **data}
    )
    assert_rejected(status, body, *fragments)
    assert snapshot(client) == before
    leftovers = [p for p in client.app.state.file_store.root.rglob(".unzip-*")]
    assert leftovers == []


def test_safe_extract_rules(tmp_path: Path) -> None:
    dest = safe_extract(robot_zip(), tmp_path / "ok")
    assert (dest / "assets" / "link.stl").is_file() and not list(tmp_path.glob(".unzip-*"))
    for bad in (_zip_with("../x.xml"), _zip_with("C:/x.xml"), symlink_zip(), zip_bomb(5)):
        with pytest.raises(UnsafeZipError):
            safe_extract(bad, tmp_path / "bad")
    assert not (tmp_path / "bad").exists() and not list(tmp_path.glob(".unzip-*"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(5):
            zf.writestr(f"f{i}.txt", "x")
    from runtime.safe_zip import ZipLimits

    with pytest.raises(UnsafeZipError, match="entries"):
        safe_extract(buf.getvalue(), tmp_path / "many", ZipLimits(max_entries=3))
    with pytest.raises(UnsafeZipError, match="inflates"):
        safe_extract(buf.getvalue(), tmp_path / "big", ZipLimits(max_total_bytes=3))


# ---- policies ---------------------------------------------------------------------------------


def test_publish_onnx_metadata_policy_with_config(
    client: TestClient, cloud_validator: SpecValidator, auth: dict
) -> None:
    model = mlp_onnx()
    status, body = publish(
        client,
        cloud_validator,
        "policy",
        auth,
        policy_files(model),
        {"runtimeAdapter": "onnx_metadata_v1", "config": json.dumps(onnx_metadata_config()), "slugPath": ""},
    )
    assert status == 201, body
    m = body["manifest"]
    assert (m["slugPath"], m["title"], m["runtimeAdapter"], m["controlDt"]) == (
        "my-policy",
        "My Policy",
        "onnx_metadata_v1",
        0.02,
    )
    assert m["unitreeVelocityConfig"] is None and m["depthModelUrl"] is None
    config = m["metadataConfig"]
    assert config["observationSize"] == 47 and config["actionSize"] == 12
    assert config["observationInput"] == "obs" and config["actionOutput"] == "actions"
    assert config["observationLayout"][0] == {"name": "base_ang_vel", "size": 3} and config["actionScale"] == 0.25
    served = fetch(client, m["modelUrl"])
    assert served.content == model and served.headers["content-type"] == "application/octet-stream"
    assert urlsplit(m["modelUrl"]).path.endswith(".onnx")


def test_onnx_metadata_from_model_metadata_properties(
    client: TestClient, cloud_validator: SpecValidator, auth: dict
) -> None:
    joints = [f"joint_{i}" for i in range(12)]
    metadata = {
        "observation_layout": json.dumps(onnx_metadata_config()["observationLayout"]),
        "joint_names": ",".join(joints),
        "action_layout": ",".join(joints),
        "control_dt": "0.02",
        "default_joint_pos": ",".join(["0.1"] * 12),
        "action_scale": "0.5",
        "run_path": "someone/some-run",
    }
    files = policy_files(mlp_onnx(metadata=metadata))
    status, body = publish(client, cloud_validator, "policy", auth, files, {**METADATA, "config": ""})
    assert status == 201, body
    config = body["manifest"]["metadataConfig"]
    assert config["jointNames"] == joints and config["actionSize"] == 12
    assert config["defaultJointPositions"] == [0.1] * 12 and config["actionScale"] == 0.5
    assert "run_path" not in config


def test_unitree_policy_with_deploy_yaml(client: TestClient, cloud_validator: SpecValidator, auth: dict) -> None:
    status, body = publish(
        client,
        cloud_validator,
        "policy",
        auth,
        policy_files(mlp_onnx(), depth_onnx()),
        {"runtimeAdapter": "unitree_velocity_g1_v0", "config": deploy_yaml(), "title": "G1 Walk"},
    )
    assert status == 201, body
    m = body["manifest"]
    assert m["controlDt"] == pytest.approx(0.02) and m["metadataConfig"] is None
    config = m["unitreeVelocityConfig"]
    assert config["num_obs"] == 47 and config["num_actions"] == 12 and len(config["kps"]) == 12
    assert config["onnx"] == {"obsInput": "obs", "actionOutput": "actions", "recurrentState": []}
    assert fetch(client, m["depthModelUrl"]).content == depth_onnx()


def test_unitree_recurrent_policy(client: TestClient, cloud_validator: SpecValidator, auth: dict) -> None:
    yaml_text = deploy_yaml(control_dt=0.02, simulation_dt=None, control_decimation=None)
    files = policy_files(recurrent_onnx())
    status, body = publish(client, cloud_validator, "policy", auth, files, {**UNITREE, "config": yaml_text})
    assert status == 201, body
    onnx_io = body["manifest"]["unitreeVelocityConfig"]["onnx"]
    assert onnx_io["recurrentState"] == [{"input": "h_in", "output": "h_out"}, {"input": "c_in", "output": "c_out"}]


def test_policy_default_refs_must_exist(client: TestClient, cloud_validator: SpecValidator, auth: dict) -> None:
    robot = publish(client, cloud_validator, "robot", auth, robot_files(), {"robotKey": "tiny/arm", "slugPath": "arm"})
    scene = publish(client, cloud_validator, "scene", auth, scene_files(), {"slugPath": "lab"})
    assert robot[0] == scene[0] == 201
    data = {"runtimeAdapter": "unitree_velocity_g1_v0", "config": deploy_yaml()}
    refs = {"defaultRobotRef": "alice/arm", "defaultSceneRef": "alice/lab"}
    status, body = publish(client, cloud_validator, "policy", auth, policy_files(mlp_onnx()), {**data, **refs})
    assert status == 201, body
    assert body["manifest"]["defaultRobotRef"] == "alice/arm" and body["manifest"]["defaultSceneRef"] == "alice/lab"
    before = snapshot(client)
    for field, ref in (("defaultRobotRef", "alice/nope"), ("defaultSceneRef", "bob/lab"), ("defaultRobotRef", "x")):
        status, body = publish(
            client, cloud_validator, "policy", auth, policy_files(mlp_onnx(hidden=9)), {**data, field: ref}
        )
        assert_rejected(status, body, field)
    assert snapshot(client) == before


def _bad_policy(config: str | None = None, adapter: dict = UNITREE, model: bytes | None = None, depth=None) -> tuple:
    data = {**adapter, **({} if config is None else {"config": config})}
    return policy_files(model if model is not None else mlp_onnx(), depth), data


@pytest.mark.parametrize(
    ("upload", "fragments"),
    [
        pytest.param(
            _bad_policy(adapter=METADATA, model=b"not onnx"), ("model", "onnxruntime"), id="onnx-does-not-load"
        ),
        pytest.param(_bad_policy(deploy_yaml(), depth=b"junk"), ("depthModel", "onnxruntime"), id="bad-depth-model"),
        pytest.param(_bad_policy(deploy_yaml(num_obs=45)), ("num_obs is 45", "obs [1, 47]"), id="num-obs-mismatch"),
        pytest.param(_bad_policy(deploy_yaml(kps=None)), ("missing kps",), id="yaml-missing-key"),
        pytest.param(_bad_policy(deploy_yaml(kds=[2] * 11)), ("kds has 11 values", "12"), id="kds-length"),
        pytest.param(_bad_policy(deploy_yaml(kps=[100] * 29)), ("leg_joint2motor_idx",), id="29-without-map"),
        pytest.param(_bad_policy(deploy_yaml(simulation_dt=None)), ("control_dt",), id="no-control-dt"),
        pytest.param(_bad_policy("kps: [1, 2"), ("YAML",), id="yaml-syntax"),
        pytest.param(_bad_policy(), ("config is required",), id="yaml-required"),
        pytest.param(
            _bad_policy(json.dumps({"observationLayout": [{"name": "x", "size": 47}]}), METADATA),
            ("incomplete", "actionLayout", "controlDt"),
            id="metadata-incomplete",
        ),
        pytest.param(
            _bad_policy(adapter=METADATA),
            ("incomplete", "observationLayout", "actionLayout", "controlDt"),
            id="metadata-absent",
        ),
        pytest.param(
            _bad_policy(json.dumps(onnx_metadata_config(num_obs=48)), METADATA),
            ("observationLayout adds up to 48", "obs [1, 47]"),
            id="layout-mismatch",
        ),
        pytest.param(_bad_policy("[1, 2]", METADATA), ("JSON object",), id="config-not-object"),
        pytest.param(_bad_policy(adapter={"runtimeAdapter": "tf_v9"}), ("runtimeAdapter",), id="unknown-adapter"),
        pytest.param(_bad_policy(adapter={}), ("runtimeAdapter",), id="no-adapter"),
    ],
)
def test_bad_policy_uploads_are_400_and_leave_nothing(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, upload: tuple, fragments: tuple
) -> None:
    before = snapshot(client)
    status, body = publish(client, cloud_validator, "policy", auth, *upload)
    assert_rejected(status, body, *fragments)
    assert snapshot(client) == before


# ---- runtime validators (reused by the G1 runtime) --------------------------------------------


def test_runtime_loaders_raise_value_errors() -> None:
    session, config = load_onnx_metadata_policy(mlp_onnx(), json.dumps(onnx_metadata_config()))
    assert config.obs_dim == 47 and config.observation_input == "obs" and session.get_inputs()[0].name == "obs"
    with pytest.raises(OnnxMetadataConfigError, match="controlDt"):
        load_onnx_metadata_policy(mlp_onnx(), {**onnx_metadata_config(), "controlDt": 0})
    _, unitree, binding = load_unitree_velocity_policy(recurrent_onnx(), deploy_yaml())
    assert unitree.control_dt == pytest.approx(0.02) and binding.state == (("h_in", "h_out"), ("c_in", "c_out"))
    full_body = deploy_yaml(kps=[100] * 29, kds=[2] * 29, leg_joint2motor_idx=list(range(12)))
    assert len(load_unitree_velocity_policy(mlp_onnx(), full_body)[1].kps) == 29
    with pytest.raises(ValueError, match="num_actions is 12 but no model output"):
        load_unitree_velocity_policy(mlp_onnx(num_actions=13), deploy_yaml())
    with pytest.raises(UnitreeVelocityConfigError, match="leg_joint2motor_idx has 11"):
        load_unitree_velocity_policy(mlp_onnx(), deploy_yaml(leg_joint2motor_idx=list(range(11))))

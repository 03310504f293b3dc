"""SceneGen through the real app: a photo and boxes become a published visual-overlay scene with one object a box."""

from __future__ import annotations

import io
import json
import time
from urllib.parse import urlsplit

import pytest
import trimesh
from fastapi.testclient import TestClient
from PIL import Image

from api.cloud import scenegen
from api.cloud.errors import CloudError
from api.cloud.publishing import get_manifest
from api.cloud.publishing.glb import validate_glb
from tests.cloud.fixtures import bearer
from tests.openapi_validation import SpecValidator

PATH = "/api/scenegen/jobs"
JOB_PATH = "/api/scenegen/jobs/{jobId}"
BOXES = [{"x": 0.1, "y": 0.2, "width": 0.3, "height": 0.6}, {"x": 0.55, "y": 0.5, "width": 0.4, "height": 0.45}]


def photo() -> bytes:
    """A 160x120 JPEG: a red block on the left, a blue block lower right, grey elsewhere."""
    image = Image.new("RGB", (160, 120), (128, 128, 128))
    image.paste((220, 30, 30), (16, 24, 64, 96))
    image.paste((30, 30, 220), (88, 60, 152, 114))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def start(
    client: TestClient, validator: SpecValidator, headers: dict, image: bytes | None = None, **fields: str
) -> tuple[int, dict]:
    data = {"slugPath": "living-room", "title": "Living room", "boxes": json.dumps(BOXES), **fields}
    files = {"image": ("photo.jpg", photo() if image is None else image, "image/jpeg")}
    response = client.post(PATH, headers=headers, data=data, files=files)
    validator.validate_response("post", PATH, response.status_code, response.json())
    return response.status_code, response.json()


def wait_for(client: TestClient, validator: SpecValidator, job_id: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = client.get(f"{PATH}/{job_id}")  # no auth needed
        assert response.status_code == 200, response.text
        validator.validate_response("get", JOB_PATH, 200, response.json())
        job = response.json()["job"]
        if job["status"] in ("ready", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"SceneGen job {job_id} did not finish")


def stored_files(client: TestClient) -> frozenset[str]:
    return frozenset(p.name for p in client.app.state.file_store.root.iterdir())


def test_auth_owner_and_unknown_jobs(client: TestClient, cloud_validator: SpecValidator, auth: dict) -> None:
    status, body = start(client, cloud_validator, {})
    assert status == 401 and body == {"error": "Authentication required."}
    status, body = start(client, cloud_validator, bearer("rr_wrong"))
    assert status == 401
    status, body = start(client, cloud_validator, auth, owner="mallory")
    assert status == 403 and "mallory" in body["error"]
    response = client.get(f"{PATH}/scenejob_nope")
    assert response.status_code == 404
    cloud_validator.validate_response("get", JOB_PATH, 404, response.json())


def test_photo_and_boxes_become_a_published_overlay_scene(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    phases: list[str] = []
    update = scenegen._update

    def recording_update(db, job_id, **changes):
        if "phase" in changes:
            phases.append(changes["phase"])
        update(db, job_id, **changes)

    monkeypatch.setattr(scenegen, "_update", recording_update)
    image = photo()
    status, body = start(client, cloud_validator, auth, image, owner="alice", description="From a photo.")
    assert status == 201, body
    job = body["job"]
    assert job["status"] == job["phase"] == "queued"
    assert job["sceneUrl"] is None and job["previewUrl"] is None and job["error"] is None
    assert job["boxes"] == BOXES and job["sceneHref"] == "/alice/living-room"
    assert job["benchmarkSceneRef"] == "chasebrignac/parkour"
    assert client.get(urlsplit(job["sourceImageUrl"]).path).content == image

    done = wait_for(client, cloud_validator, job["id"])
    assert done["status"] == "ready" and done["phase"] == "ready" and done["error"] is None, done
    assert phases == ["segmenting", "generating_scene", "publishing", "ready"]
    manifest = get_manifest(client.app.state.cloud_db, "scene", "alice/living-room")
    assert manifest["mode"] == "visual_overlay" and manifest["glbUrl"] == done["sceneUrl"]
    assert manifest["title"] == "Living room" and manifest["description"] == "From a photo."
    assert done["previewUrl"] == manifest["previewUrl"] and done["transform"] == manifest["transform"]

    glb = client.get(urlsplit(done["sceneUrl"]).path)
    assert glb.status_code == 200 and glb.headers["content-type"] == "model/gltf-binary"
    validate_glb(glb.content)
    scene = trimesh.load(io.BytesIO(glb.content), file_type="glb")
    assert sorted(scene.geometry) == ["object_0", "object_1"]
    for name, box in zip(("object_0", "object_1"), BOXES, strict=True):
        mesh = scene.geometry[name]
        texture = mesh.visual.material.baseColorTexture
        assert texture is not None and texture.size[0] > 1
        width, height, _ = mesh.extents
        assert width / height == pytest.approx(box["width"] * 160 / (box["height"] * 120), rel=0.02)
        placed = scene.graph.get(name)[0]
        assert placed[1, 3] == pytest.approx(height / 2)  # standing on the floor
    red = scene.geometry["object_0"].visual.material.baseColorTexture.convert("RGB").getpixel((10, 20))
    assert red[0] > 150 and red[2] < 100  # the left box's crop is the red block
    preview = client.get(urlsplit(done["previewUrl"]).path)
    assert Image.open(io.BytesIO(preview.content)).format == "PNG"


def test_taken_slug_is_published_under_the_next_free_one(
    client: TestClient, cloud_validator: SpecValidator, auth: dict
) -> None:
    first = wait_for(client, cloud_validator, start(client, cloud_validator, auth)[1]["job"]["id"])
    second = wait_for(client, cloud_validator, start(client, cloud_validator, auth)[1]["job"]["id"])
    assert (first["slugPath"], second["slugPath"]) == ("living-room", "living-room-2")
    assert second["sceneHref"] == "/alice/living-room-2" and second["status"] == "ready"


def test_publish_failure_ends_the_job_failed(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args, **kwargs):
        raise CloudError(400, "glb: the scene is too large.")

    monkeypatch.setattr(scenegen, "publish_scene", refuse)
    done = wait_for(client, cloud_validator, start(client, cloud_validator, auth)[1]["job"]["id"])
    assert (done["status"], done["phase"], done["error"]) == ("failed", "failed", "glb: the scene is too large.")
    assert done["sceneUrl"] is None


@pytest.mark.parametrize(
    ("fields", "image", "fragment"),
    [
        ({"boxes": "not json"}, None, "Invalid boxes"),
        ({"boxes": json.dumps({"x": 0.1})}, None, "Invalid boxes"),
        ({"boxes": "[]"}, None, "at least one box"),
        ({"boxes": json.dumps([{"x": 1.5, "y": 0, "width": 0.1, "height": 0.1}])}, None, "0.x"),
        ({"boxes": json.dumps([{"x": 0.1, "y": 0.1, "width": 0.1}])}, None, "height"),
        ({"boxes": json.dumps([{"x": 0.8, "y": 0, "width": 0.3, "height": 0.1}])}, None, "past the image"),
        ({"boxes": json.dumps([{"x": 0.1, "y": 0.1, "width": 0, "height": 0.1}])}, None, "no area"),
        ({}, b"GIF89a not really", "does not decode"),
        ({"slugPath": "  "}, None, "slugPath"),
        ({"slugPath": "!!!"}, None, "slugPath"),
        ({"title": ""}, None, "title"),
        ({"benchmarkSceneRef": "no-slash"}, None, "benchmarkSceneRef"),
    ],
)
def test_invalid_requests_are_400_and_store_nothing(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, fields: dict, image: bytes | None, fragment: str
) -> None:
    before = stored_files(client)
    status, body = start(client, cloud_validator, auth, image, **fields)
    assert status == 400 and fragment in body["error"], body
    assert stored_files(client) == before
    assert client.app.state.cloud_db.rows(scenegen.JOBS) == []

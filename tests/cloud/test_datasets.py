"""Dataset uploads through the real app: MP4s that decode become records; anything else is 400 and leaves nothing."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.cloud.fixtures import MP4, bearer, mp4_bytes
from tests.openapi_validation import SpecValidator

PATH = "/api/datasets/uploads"


def upload(
    client: TestClient, validator: SpecValidator, headers: dict, files: list[tuple[str, bytes]], **fields: str
) -> tuple[int, dict]:
    """POST ``files`` (name, bytes) as the multipart ``files`` field; validate against the spec."""
    data = {"title": "Apartment tabletop demos", "kind": "egocentric_video", **fields}
    multipart = [("files", (name, content, "video/mp4")) for name, content in files]
    response = client.post(PATH, headers=headers, data=data, files=multipart)
    validator.validate_response("post", PATH, response.status_code, response.json())
    return response.status_code, response.json()


def stored_state(client: TestClient) -> tuple[frozenset[str], int]:
    root = client.app.state.file_store.root
    files = frozenset(p.name for p in root.iterdir())
    return files, len(client.app.state.cloud_db.rows("dataset_records"))


def test_auth_is_required(client: TestClient, cloud_validator: SpecValidator) -> None:
    response = client.get(PATH)
    assert response.status_code == 401
    cloud_validator.validate_response("get", PATH, 401, response.json())
    status, body = upload(client, cloud_validator, bearer("rr_bad"), [("a.mp4", MP4)])
    assert status == 401 and body == {"error": "Authentication required."}


def test_several_files_make_several_records_served_back(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, make_token
) -> None:
    clips = {"clip-1.mp4": MP4, "clip 2 (kitchen).mp4": mp4_bytes(frames=5)}
    status, body = upload(client, cloud_validator, auth, list(clips.items()), description="Two clips.")
    assert status == 201, body
    items = body["items"]
    assert [i["fileName"] for i in items] == ["clip-1.mp4", "clip-2-kitchen-.mp4"]
    for item, content in zip(items, clips.values(), strict=True):
        assert (item["owner"], item["kind"], item["mimeType"]) == ("alice", "egocentric_video", "video/mp4")
        assert item["title"] == "Apartment tabletop demos" and item["description"] == "Two clips."
        assert item["fileKey"] == f"alice/dataset/apartment-tabletop-demos-{item['id']}/{item['fileName']}"
        served = client.get(urlsplit(item["fileUrl"]).path)
        assert served.status_code == 200 and served.content == content
        assert served.headers["content-type"] == "video/mp4"
    listing = client.get(PATH, headers=auth)
    assert listing.status_code == 200
    cloud_validator.validate_response("get", PATH, 200, listing.json())
    assert {i["id"] for i in listing.json()["items"]} == {i["id"] for i in items}
    assert client.get(PATH, headers=bearer(make_token("bob")["token"])).json() == {"items": []}


@pytest.mark.parametrize(
    ("files", "fields", "fragment"),
    [
        ([("notes.mp4", b"just some text, not a video at all")], {}, "no 'ftyp' box"),
        ([("ok.mp4", MP4), ("bad.mp4", b"\x00\x00\x00\x18ftypisom" + bytes(200))], {}, "bad.mp4"),
        ([("half.mp4", MP4[: len(MP4) // 2])], {}, "no video stream"),
        ([("clip.mov", MP4)], {}, ".mp4"),
        ([("clip.mp4", MP4)], {"kind": "cat_videos"}, "kind"),
        ([("clip.mp4", MP4)], {"title": "   "}, "title"),
    ],
)
def test_anything_but_decodable_mp4_is_400_and_writes_nothing(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, files: list, fields: dict, fragment: str
) -> None:
    before = stored_state(client)
    status, body = upload(client, cloud_validator, auth, files, **fields)
    assert status == 400 and fragment in body["error"], body
    assert stored_state(client) == before


def test_files_are_required(client: TestClient, cloud_validator: SpecValidator, auth: dict) -> None:
    response = client.post(PATH, headers=auth, data={"title": "t", "kind": "human_wbc"})
    assert response.status_code == 400 and "files" in response.json()["error"]
    cloud_validator.validate_response("post", PATH, 400, response.json())


def test_size_limit(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNROBOT_DATASET_MAX_FILE_MB", "0.0005")  # 524 bytes
    before = stored_state(client)
    status, body = upload(client, cloud_validator, auth, [("big.mp4", MP4)], kind="human_preference")
    assert status == 400 and "limit" in body["error"]
    assert stored_state(client) == before

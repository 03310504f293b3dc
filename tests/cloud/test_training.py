"""Training jobs through the real app: the honest local worker, and the Video2Robot proxy against a stand-in."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.cloud.video2robot import URL_ENV
from tests.cloud.fixtures import MP4, bearer, mp4_bytes
from tests.cloud.video2robot_standin import running_standin
from tests.openapi_validation import SpecValidator

PATH = "/api/training/jobs"


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[FastAPI]:
    """A Video2Robot stand-in on 127.0.0.1, configured through ``RUNROBOT_VIDEO2ROBOT_URL``."""
    with running_standin() as (url, app):
        monkeypatch.setenv(URL_ENV, url)
        yield app


def dataset(client: TestClient, headers: dict, name: str = "clip-1.mp4", data: bytes = MP4) -> dict:
    response = client.post(
        "/api/datasets/uploads",
        headers=headers,
        data={"title": "Apartment tabletop demos", "kind": "human_wbc"},
        files=[("files", (name, data, "video/mp4"))],
    )
    assert response.status_code == 201, response.text
    return response.json()["items"][0]


def create(client: TestClient, validator: SpecValidator, headers: dict, **body) -> tuple[int, dict]:
    response = client.post(PATH, headers=headers, json=body)
    validator.validate_response("post", PATH, response.status_code, response.json())
    return response.status_code, response.json()


def jobs(client: TestClient, validator: SpecValidator, headers: dict) -> list[dict]:
    response = client.get(PATH, headers=headers)
    assert response.status_code == 200, response.text
    validator.validate_response("get", PATH, 200, response.json())
    return response.json()["jobs"]


def poll_until(client: TestClient, validator: SpecValidator, headers: dict, statuses: tuple[str, ...]) -> list[dict]:
    """List (which refreshes remote jobs) until the first job's status is one of ``statuses``; every list seen."""
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        seen.append(jobs(client, validator, headers)[0])
        if seen[-1]["status"] in statuses:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"job never reached {statuses}: {seen[-1]}")


def test_auth_is_required(client: TestClient, cloud_validator: SpecValidator) -> None:
    response = client.get(PATH)
    assert response.status_code == 401
    cloud_validator.validate_response("get", PATH, 401, response.json())
    status, body = create(client, cloud_validator, {}, title="t", mode="video2robot", datasetIds=["x"])
    assert status == 401 and body == {"error": "Authentication required."}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"datasetIds": ["dataset_nope"]}, "dataset_nope"),
        ({"datasetIds": ["BOB"]}, "BOB"),
        ({"datasetIds": []}, "datasetIds"),
        ({"datasetIds": ["MINE", "MINE"]}, "repeat"),
        ({"mode": "dreaming"}, "mode"),
        ({"basePolicyRef": "alice/nothing"}, "alice/nothing"),
        ({"title": ""}, "title"),
    ],
)
def test_invalid_jobs_are_400(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, make_token, body: dict, fragment: str
) -> None:
    mine = dataset(client, auth)["id"]
    bobs = dataset(client, bearer(make_token("bob")["token"]))["id"]
    ids = {"MINE": mine, "BOB": bobs}
    body = {"title": "t", "mode": "egocentric_manipulation", "datasetIds": ["MINE"], **body}
    body["datasetIds"] = [ids.get(i, i) for i in body["datasetIds"]]
    fragment = ids.get(fragment, fragment)
    status, answer = create(client, cloud_validator, auth, **body)
    assert status == 400 and fragment in answer["error"], answer
    assert jobs(client, cloud_validator, auth) == []


def test_local_job_is_inspected_by_the_worker_and_not_faked(
    client: TestClient, cloud_validator: SpecValidator, auth: dict
) -> None:
    first, second = dataset(client, auth)["id"], dataset(client, auth, "short.mp4", mp4_bytes(frames=4))["id"]
    status, body = create(
        client,
        cloud_validator,
        auth,
        title="Pick and place finetune",
        mode="egocentric_manipulation",
        datasetIds=[first, second],
        notes="first try",
    )
    assert status == 201, body
    job = body["job"]
    assert (job["provider"], job["status"], job["remoteBaseUrl"], job["runs"]) == ("local", "queued", None, [])
    assert job["basePolicyRef"] is None and job["completedAt"] is None
    seen = poll_until(client, cloud_validator, auth, ("failed", "completed"))
    done = seen[-1]
    assert done["status"] == "failed" and "not implemented" in done["lastError"]
    assert "trained no model" in done["lastError"] and done["completedAt"] is None
    assert done["notes"].startswith("first try\n\n[local worker]")
    assert f"{first} (clip-1.mp4): 10 frames, 1.00 s, 32x24" in done["notes"]
    assert f"{second} (short.mp4): 4 frames, 0.40 s" in done["notes"]
    assert all(j["status"] != "completed" for j in seen)


def test_video2robot_without_a_service_is_503(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [dataset(client, auth)["id"]]
    monkeypatch.delenv(URL_ENV, raising=False)
    status, body = create(client, cloud_validator, auth, title="t", mode="video2robot", datasetIds=ids)
    assert status == 503 and URL_ENV in body["error"]
    monkeypatch.setenv(URL_ENV, "http://127.0.0.1:9")  # discard port: nothing listens
    status, body = create(client, cloud_validator, auth, title="t", mode="video2robot", datasetIds=ids)
    assert status == 503 and "unreachable" in body["error"]
    assert jobs(client, cloud_validator, auth) == []


def test_video2robot_flow_against_the_standin(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, standin: FastAPI
) -> None:
    records = [dataset(client, auth), dataset(client, auth, "clip-2.mp4", mp4_bytes(frames=6))]
    ids = [r["id"] for r in records]
    status, body = create(client, cloud_validator, auth, title="Retarget me", mode="video2robot", datasetIds=ids)
    assert status == 201, body
    job = body["job"]
    assert (job["provider"], job["status"], job["lastError"]) == ("video2robot", "queued", None)
    assert job["remoteBaseUrl"].startswith("http://127.0.0.1:")
    for run, record in zip(job["runs"], records, strict=True):
        assert run["datasetId"] == record["id"] and run["fileName"] == record["fileName"]
        assert run["projectName"] == f"alice-{job['id']}-{record['id']}"
        assert (run["uploadStatus"], run["uploadError"], run["motionUrl"]) == ("uploaded", None, None)
        assert run["extract"]["status"] == "pending" and run["extract"]["taskId"]
        assert (run["retarget"]["status"], run["retarget"]["taskId"], run["retarget"]["startedAt"]) == (
            "not_started",
            None,
            None,
        )
    received = {p.name: p.videos for p in standin.state.projects.values()}
    assert received[job["runs"][0]["projectName"]] == {"clip-1.mp4": MP4}

    seen = poll_until(client, cloud_validator, auth, ("completed", "failed"))
    statuses = [j["status"] for j in seen]
    assert "running" in statuses and statuses[-1] == "completed", statuses
    done = seen[-1]
    assert done["completedAt"] and done["lastError"] is None
    for run in done["runs"]:
        assert run["extract"]["status"] == run["retarget"]["status"] == "completed"
        assert run["retarget"]["progress"] == 1.0 and run["retarget"]["completedAt"]
        assert run["motionUrl"].startswith(job["remoteBaseUrl"]) and run["motionUrl"].endswith("/motion.npz")
    assert jobs(client, cloud_validator, auth)[0] == done  # finished jobs are no longer refreshed


def test_video2robot_task_failure_fails_the_job(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, standin: FastAPI
) -> None:
    ids = [dataset(client, auth, "fail-no-person.mp4")["id"]]
    status, body = create(client, cloud_validator, auth, title="t", mode="video2robot", datasetIds=ids)
    assert status == 201, body
    done = poll_until(client, cloud_validator, auth, ("completed", "failed"))[-1]
    assert done["status"] == "failed" and "no person detected" in done["lastError"]
    run = done["runs"][0]
    assert run["extract"]["status"] == "failed" and run["retarget"]["status"] == "not_started"
    assert done["completedAt"] is None

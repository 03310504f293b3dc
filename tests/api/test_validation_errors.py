"""A rejected NaN/inf input is a clean 422 on the session API (FastAPI would fail to encode it: 500)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app


def test_nan_in_a_session_request_is_a_422_not_a_500(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path, enable_ros=False), raise_server_exceptions=False) as client:
        response = client.post(
            "/sessions",
            content=b'{"session_id": NaN, "policy_path": Infinity}',
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert {tuple(e["loc"]) for e in errors} == {("body", "session_id"), ("body", "policy_path")}
    assert {e["input"] for e in errors} == {"nan", "inf"}

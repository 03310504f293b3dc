"""Cloud API fixtures: the real app (ROS off; every cloud router and the cloud workers), tokens, spec validation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.cloud.auth import create_token
from tests.cloud.fixtures import bearer
from tests.openapi_validation import SpecValidator


@pytest.fixture(scope="session")
def cloud_validator(cloud_spec: dict) -> SpecValidator:
    return SpecValidator(cloud_spec)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def client(data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(data_dir, enable_ros=False)) as test_client:
        yield test_client


@pytest.fixture
def make_token(client: TestClient):
    """``make_token(owner)`` -> a token dict (``token`` holds the secret) minted in the app's DB."""

    def make(owner: str = "alice", name: str = "tests") -> dict:
        return create_token(client.app.state.cloud_db, owner, name)

    return make


@pytest.fixture
def auth(make_token) -> dict[str, str]:
    """Authorization headers for owner ``alice``."""
    return bearer(make_token("alice")["token"])

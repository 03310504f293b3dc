"""Cloud API fixtures: the real app (ROS off) with the publish router, tokens, spec validation."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from cloud.fixtures import bearer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openapi_validation import SpecValidator

from api.app import create_app
from api.cloud.auth import create_token


def _root_conftest():
    path = Path(__file__).resolve().parent.parent / "conftest.py"
    spec = importlib.util.spec_from_file_location("_runrobot_tests_root_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Conftests outside packages all import as ``conftest``, and pytest keeps only the latest in
# sys.modules: re-export the root helpers so ``from conftest import SPEC_DIR`` elsewhere still works.
_root = _root_conftest()
ROOT, SPEC_DIR, SHARED_SPEC_DIR, load_spec = _root.ROOT, _root.SPEC_DIR, _root.SHARED_SPEC_DIR, _root.load_spec


def ensure_publish_router(app: FastAPI) -> None:
    """Include the publish router unless ``create_app`` already wires it."""
    from api.routers import publish

    wired = any(
        getattr(r, "original_router", None) is publish.router or getattr(r, "path", None) == "/api/publish/scenes"
        for r in app.routes
    )
    if not wired:
        app.include_router(publish.router)


@pytest.fixture(scope="session")
def cloud_validator(cloud_spec: dict) -> SpecValidator:
    return SpecValidator(cloud_spec)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def client(data_dir: Path) -> Iterator[TestClient]:
    app = create_app(data_dir, enable_ros=False)
    ensure_publish_router(app)
    with TestClient(app) as test_client:
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

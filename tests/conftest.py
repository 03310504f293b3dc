"""Shared fixtures: an ACT checkpoint, an isolated ROS 2 domain per test, the API specs."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = Path(__file__).resolve().parent / "spec"
SHARED_SPEC_DIR = ROOT.parent / "shared" / "spec"

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"

# Domain ids 1..232 are valid for Fast DDS; spread workers by pid so parallel runs do not collide.
_domains = itertools.count(1 + (os.getpid() * 7) % 150)


def next_ros_domain() -> int:
    return next(_domains) % 232 + 1


@pytest.fixture
def ros_domain(monkeypatch: pytest.MonkeyPatch) -> int:
    """A ROS_DOMAIN_ID no other test uses, set in this process's environment."""
    domain = next_ros_domain()
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domain))
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    return domain


@pytest.fixture(scope="session")
def act_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh so101 ACT checkpoint (front camera, 224x224, chunk 100) written by init-act."""
    from runtime.policies.act.checkpoint import init_act_checkpoint

    return init_act_checkpoint(tmp_path_factory.mktemp("act") / "act_so101", cameras=["front"], image_size=(224, 224))


@pytest.fixture(scope="session")
def small_act_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A smaller ACT checkpoint (front camera, 96x96, chunk 20) for fast loop tests."""
    from runtime.policies.act.checkpoint import init_act_checkpoint

    return init_act_checkpoint(
        tmp_path_factory.mktemp("act_small") / "act_so101_small",
        cameras=["front"],
        image_size=(96, 96),
        chunk_size=20,
    )


def load_spec(name: str) -> dict:
    return json.loads((SPEC_DIR / name).read_text())


@pytest.fixture(scope="session")
def inference_spec() -> dict:
    return load_spec("inference-server.openapi.json")


@pytest.fixture(scope="session")
def cloud_spec() -> dict:
    return load_spec("runrobot-cloud.openapi.json")

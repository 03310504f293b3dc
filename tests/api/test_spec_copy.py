"""The spec copies in tests/spec are the shared contracts, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SHARED_SPEC_DIR, SPEC_DIR

COPIES = sorted(SPEC_DIR.glob("*.json"))

needs_shared = pytest.mark.skipif(
    not SHARED_SPEC_DIR.is_dir(),
    reason=f"shared spec directory {SHARED_SPEC_DIR} does not exist (not in the shared workspace)",
)


def test_spec_copies_exist() -> None:
    names = [p.name for p in COPIES]
    assert "inference-server.openapi.json" in names and "runrobot-cloud.openapi.json" in names, names


@needs_shared
@pytest.mark.parametrize("copy", COPIES, ids=[p.name for p in COPIES])
def test_copy_equals_shared_spec(copy: Path) -> None:
    shared = SHARED_SPEC_DIR / copy.name
    assert shared.is_file(), f"{copy.name} is in {SPEC_DIR} but not in {SHARED_SPEC_DIR}"
    if copy.read_bytes() != shared.read_bytes():
        same_json = json.loads(copy.read_text()) == json.loads(shared.read_text())
        pytest.fail(
            f"{copy} differs from {shared}"
            + (" (same JSON, different formatting)" if same_json else " (different content)")
            + f"; refresh it with: cp {shared} {copy}"
        )


@needs_shared
def test_every_shared_spec_has_a_copy() -> None:
    shared = sorted(p.name for p in SHARED_SPEC_DIR.glob("*.json"))
    missing = [name for name in shared if not (SPEC_DIR / name).is_file()]
    assert not missing, f"shared specs without a copy in {SPEC_DIR}: {missing}"

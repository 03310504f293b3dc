"""Unit tests for runtime.robots.profile and runtime.robots.normalization."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from runtime.robots.normalization import GRIPPER_RANGE, JOINT_RANGE, JointNormalizer, NonFiniteJointError
from runtime.robots.profile import ROBOTS_DIR, JointSpec, RobotProfile, available_robots, load_robot_profile

EXPECTED_JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
GRIPPER_INDEX = EXPECTED_JOINTS.index("gripper")
ARM = [i for i in range(len(EXPECTED_JOINTS)) if i != GRIPPER_INDEX]


@pytest.fixture(params=["so101", "so100"])
def robot_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def profile(robot_name: str) -> RobotProfile:
    return load_robot_profile(robot_name)


@pytest.fixture
def norm(profile: RobotProfile) -> JointNormalizer:
    return JointNormalizer(profile)


def _expected_limits(profile: RobotProfile) -> tuple[np.ndarray, np.ndarray]:
    lower = np.array([JOINT_RANGE[0]] * profile.dof)
    upper = np.array([JOINT_RANGE[1]] * profile.dof)
    for i, j in enumerate(profile.joints):
        if j.gripper:
            lower[i], upper[i] = GRIPPER_RANGE
    return lower, upper


def _write_profile(path: Path, joints: list[str]) -> Path:
    path.write_text("name: testbot\ndescription: test\njoints:\n" + "".join(f"  - {j}\n" for j in joints))
    return path


# --------------------------------------------------------------------------- profiles


def test_ranges_are_the_documented_ones() -> None:
    assert JOINT_RANGE == (-100.0, 100.0)
    assert GRIPPER_RANGE == (0.0, 100.0)


def test_load_profile_by_name(robot_name: str, profile: RobotProfile) -> None:
    assert profile.name == robot_name
    assert profile.dof == 6
    assert len(profile.joints) == 6
    assert profile.joint_names == EXPECTED_JOINTS
    assert [j.gripper for j in profile.joints] == [False] * 5 + [True]
    for j in profile.joints:
        assert isinstance(j, JointSpec)
        assert j.upper > j.lower


def test_so101_and_so100_share_joint_names() -> None:
    so101 = load_robot_profile("so101")
    so100 = load_robot_profile("so100")
    assert so101.joint_names == so100.joint_names == EXPECTED_JOINTS
    assert [j.gripper for j in so101.joints] == [j.gripper for j in so100.joints]


def test_so101_limits_match_yaml() -> None:
    p = load_robot_profile("so101")
    assert p.joints[0].lower == pytest.approx(-1.91986)
    assert p.joints[0].upper == pytest.approx(1.91986)
    assert p.joints[4].lower == pytest.approx(-2.74385)
    assert p.joints[4].upper == pytest.approx(2.84121)
    assert p.joints[5].lower == pytest.approx(-0.17453)
    assert p.joints[5].upper == pytest.approx(1.74533)


def test_load_profile_by_path(robot_name: str) -> None:
    by_path = load_robot_profile(ROBOTS_DIR / f"{robot_name}.yaml")
    assert by_path == load_robot_profile(robot_name)
    assert load_robot_profile(str(ROBOTS_DIR / f"{robot_name}.yaml")) == by_path


def test_available_robots_lists_shipped_profiles() -> None:
    names = available_robots()
    assert {"so100", "so101"} <= set(names)
    assert names == sorted(names)


def test_available_robots_custom_dir(tmp_path: Path) -> None:
    assert available_robots(tmp_path) == []
    _write_profile(tmp_path / "zeta.yaml", ["{name: a, lower: -1, upper: 1}"])
    _write_profile(tmp_path / "alpha.yaml", ["{name: a, lower: -1, upper: 1}"])
    (tmp_path / "notes.txt").write_text("ignored")
    assert available_robots(tmp_path) == ["alpha", "zeta"]


def test_unknown_profile_name_names_available_robots() -> None:
    with pytest.raises(FileNotFoundError) as exc_info:
        load_robot_profile("no_such_robot_xyz")
    msg = str(exc_info.value)
    assert "no_such_robot_xyz" in msg
    for name in available_robots():
        assert name in msg
    assert "so100" in msg and "so101" in msg


def test_unknown_profile_in_custom_dir(tmp_path: Path) -> None:
    _write_profile(tmp_path / "onlybot.yaml", ["{name: a, lower: -1, upper: 1}"])
    with pytest.raises(FileNotFoundError, match="onlybot"):
        load_robot_profile("so101", robots_dir=tmp_path)
    assert load_robot_profile("onlybot", robots_dir=tmp_path).joint_names == ["a"]


def test_missing_yaml_path_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_robot_profile(tmp_path / "missing.yaml")


def test_profile_from_tmp_yaml_path(tmp_path: Path) -> None:
    path = _write_profile(
        tmp_path / "bot.yaml",
        ["{name: j1, lower: -2.0, upper: 2.0}", "{name: grip, lower: 0.0, upper: 1.0, gripper: true}"],
    )
    p = load_robot_profile(path)
    assert p.name == "testbot"
    assert p.joint_names == ["j1", "grip"]
    assert p.dof == 2
    assert [j.gripper for j in p.joints] == [False, True]


@pytest.mark.parametrize(
    ("lower", "upper"),
    [(1.0, 1.0), (1.0, 0.5), (0.0, -0.1), (".nan", "1.0")],
)
def test_profile_with_upper_not_above_lower_is_rejected(tmp_path: Path, lower: object, upper: object) -> None:
    path = _write_profile(tmp_path / "bad.yaml", [f"{{name: bad_joint, lower: {lower}, upper: {upper}}}"])
    with pytest.raises(ValueError, match="bad_joint"):
        load_robot_profile(path)


def test_profile_with_duplicate_names_is_rejected(tmp_path: Path) -> None:
    path = _write_profile(
        tmp_path / "dup.yaml",
        ["{name: a, lower: -1, upper: 1}", "{name: b, lower: -1, upper: 1}", "{name: a, lower: -2, upper: 2}"],
    )
    with pytest.raises(ValueError, match="duplicate"):
        load_robot_profile(path)


def test_profile_with_no_joints_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("name: empty\njoints: []\n")
    with pytest.raises(ValueError):
        load_robot_profile(path)


# --------------------------------------------------------------------------- normalizer basics


def test_normalizer_limits(norm: JointNormalizer, profile: RobotProfile) -> None:
    lower, upper = _expected_limits(profile)
    np.testing.assert_array_equal(norm.lower_norm, lower)
    np.testing.assert_array_equal(norm.upper_norm, upper)
    np.testing.assert_array_equal(norm.lower_rad, [j.lower for j in profile.joints])
    np.testing.assert_array_equal(norm.upper_rad, [j.upper for j in profile.joints])
    assert norm.joint_names == EXPECTED_JOINTS
    assert norm.clamped == 0


# --------------------------------------------------------------------------- round trips


def test_round_trip_radians_normalized_radians(norm: JointNormalizer) -> None:
    rng = np.random.default_rng(12345)
    for _ in range(200):
        rad = rng.uniform(norm.lower_rad, norm.upper_rad)
        n = norm.normalize(rad)
        assert n.shape == (6,)
        assert np.all(n >= norm.lower_norm) and np.all(n <= norm.upper_norm)
        back = norm.denormalize(n)
        np.testing.assert_allclose(back, rad, rtol=0, atol=1e-9)
    assert norm.clamped == 0


def test_round_trip_normalized_radians_normalized(norm: JointNormalizer) -> None:
    rng = np.random.default_rng(67890)
    for _ in range(200):
        n = rng.uniform(norm.lower_norm, norm.upper_norm)
        rad = norm.denormalize(n)
        assert np.all(rad >= norm.lower_rad) and np.all(rad <= norm.upper_rad)
        back = norm.normalize(rad)
        np.testing.assert_allclose(back, n, rtol=0, atol=1e-9)
    assert norm.clamped == 0


def test_normalize_is_linear_map(norm: JointNormalizer) -> None:
    rng = np.random.default_rng(7)
    rad = rng.uniform(norm.lower_rad, norm.upper_rad)
    frac = (rad - norm.lower_rad) / (norm.upper_rad - norm.lower_rad)
    expected = np.where(np.arange(6) == GRIPPER_INDEX, 100.0 * frac, -100.0 + 200.0 * frac)
    np.testing.assert_allclose(norm.normalize(rad), expected, rtol=0, atol=1e-9)


def test_accepts_list_input(norm: JointNormalizer) -> None:
    rad = list((norm.lower_rad + norm.upper_rad) / 2)
    out = norm.normalize(rad)
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float64
    assert isinstance(norm.denormalize([0.0] * 5 + [50.0]), np.ndarray)


def test_normalize_does_not_mutate_input(norm: JointNormalizer) -> None:
    rad = norm.upper_rad + 1.0
    original = rad.copy()
    norm.normalize(rad)
    np.testing.assert_array_equal(rad, original)
    n = np.full(6, 500.0)
    norm.denormalize(n)
    np.testing.assert_array_equal(n, np.full(6, 500.0))


# --------------------------------------------------------------------------- edge values


def test_lower_limit_maps_to_range_minimum(norm: JointNormalizer) -> None:
    out = norm.normalize(norm.lower_rad)
    np.testing.assert_allclose(out[ARM], -100.0, rtol=0, atol=1e-9)
    assert out[GRIPPER_INDEX] == pytest.approx(0.0, abs=1e-9)
    assert norm.clamped == 0


def test_upper_limit_maps_to_range_maximum(norm: JointNormalizer) -> None:
    out = norm.normalize(norm.upper_rad)
    np.testing.assert_allclose(out[ARM], 100.0, rtol=0, atol=1e-9)
    assert out[GRIPPER_INDEX] == pytest.approx(100.0, abs=1e-9)
    assert norm.clamped == 0


def test_midpoint_maps_to_range_centre(norm: JointNormalizer) -> None:
    out = norm.normalize((norm.lower_rad + norm.upper_rad) / 2)
    np.testing.assert_allclose(out[ARM], 0.0, rtol=0, atol=1e-9)
    assert out[GRIPPER_INDEX] == pytest.approx(50.0, abs=1e-9)


def test_denormalize_edge_values(norm: JointNormalizer) -> None:
    lo = np.array([-100.0] * 5 + [0.0])
    hi = np.array([100.0] * 5 + [100.0])
    mid = np.array([0.0] * 5 + [50.0])
    np.testing.assert_allclose(norm.denormalize(lo), norm.lower_rad, rtol=0, atol=1e-12)
    np.testing.assert_allclose(norm.denormalize(hi), norm.upper_rad, rtol=0, atol=1e-12)
    np.testing.assert_allclose(norm.denormalize(mid), (norm.lower_rad + norm.upper_rad) / 2, rtol=0, atol=1e-12)
    assert norm.clamped == 0


def test_wrist_roll_asymmetric_midpoint() -> None:
    norm = JointNormalizer(load_robot_profile("so101"))
    idx = EXPECTED_JOINTS.index("wrist_roll")
    rad = (norm.lower_rad + norm.upper_rad) / 2
    rad[idx] = 0.0  # not the midpoint of [-2.74385, 2.84121]
    expected = -100.0 + 200.0 * (0.0 - -2.74385) / (2.84121 - -2.74385)
    assert norm.normalize(rad)[idx] == pytest.approx(expected, abs=1e-9)
    assert norm.normalize(rad)[idx] < 0.0


# --------------------------------------------------------------------------- clamping


def test_out_of_range_radians_are_clamped_and_counted(norm: JointNormalizer) -> None:
    rad = (norm.lower_rad + norm.upper_rad) / 2
    rad[0] = norm.upper_rad[0] + 0.5
    rad[2] = norm.lower_rad[2] - 10.0
    rad[GRIPPER_INDEX] = norm.lower_rad[GRIPPER_INDEX] - 1.0
    out = norm.normalize(rad)
    assert norm.clamped == 3
    assert out[0] == pytest.approx(100.0, abs=1e-9)
    assert out[2] == pytest.approx(-100.0, abs=1e-9)
    assert out[GRIPPER_INDEX] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(out[[1, 3, 4]], 0.0, atol=1e-9)


def test_clamped_counter_accumulates_exactly(norm: JointNormalizer) -> None:
    above = norm.upper_rad + 1.0
    norm.normalize(above)
    assert norm.clamped == 6
    norm.normalize((norm.lower_rad + norm.upper_rad) / 2)
    assert norm.clamped == 6
    one_below = norm.lower_rad.copy()
    one_below[4] -= 1e-6
    norm.normalize(one_below)
    assert norm.clamped == 7
    norm.normalize(norm.upper_rad)  # exactly on the limit: not clamped
    assert norm.clamped == 7


def test_random_out_of_range_counts_exact(norm: JointNormalizer) -> None:
    rng = np.random.default_rng(2024)
    span = norm.upper_rad - norm.lower_rad
    expected_total = 0
    for _ in range(100):
        rad = rng.uniform(norm.lower_rad - span, norm.upper_rad + span)
        expected_total += int(np.count_nonzero((rad < norm.lower_rad) | (rad > norm.upper_rad)))
        out = norm.normalize(rad)
        assert np.all(out >= norm.lower_norm) and np.all(out <= norm.upper_norm)
    assert expected_total > 0
    assert norm.clamped == expected_total


def test_denormalize_clamps_and_counts(norm: JointNormalizer) -> None:
    n = np.array([150.0, -150.0, 0.0, 100.0, -100.0, -5.0])
    out = norm.denormalize(n)
    assert norm.clamped == 3
    assert out[0] == pytest.approx(norm.upper_rad[0], abs=1e-12)
    assert out[1] == pytest.approx(norm.lower_rad[1], abs=1e-12)
    assert out[3] == pytest.approx(norm.upper_rad[3], abs=1e-12)
    assert out[4] == pytest.approx(norm.lower_rad[4], abs=1e-12)
    assert out[GRIPPER_INDEX] == pytest.approx(norm.lower_rad[GRIPPER_INDEX], abs=1e-12)


def test_gripper_negative_normalized_is_clamped_but_arm_negative_is_not(norm: JointNormalizer) -> None:
    out = norm.clamp_normalized([-50.0] * 6)
    np.testing.assert_array_equal(out, [-50.0] * 5 + [0.0])
    assert norm.clamped == 1


def test_clamp_normalized(norm: JointNormalizer) -> None:
    inside = np.array([-99.0, 0.0, 42.5, 100.0, -100.0, 50.0])
    out = norm.clamp_normalized(inside)
    np.testing.assert_array_equal(out, inside)
    assert norm.clamped == 0

    out = norm.clamp_normalized([101.0, -101.0, 1e9, -1e9, 0.0, 100.5])
    np.testing.assert_array_equal(out, [100.0, -100.0, 100.0, -100.0, 0.0, 100.0])
    assert out.dtype == np.float64
    assert norm.clamped == 5


def test_clamp_normalized_rejects_bad_input(norm: JointNormalizer) -> None:
    with pytest.raises(NonFiniteJointError, match="elbow_flex"):
        norm.clamp_normalized([0.0, 0.0, math.nan, 0.0, 0.0, 50.0])
    with pytest.raises(ValueError, match="expected 6"):
        norm.clamp_normalized([0.0] * 5)
    assert norm.clamped == 0


# --------------------------------------------------------------------------- non-finite values


def test_non_finite_error_is_value_error() -> None:
    assert issubclass(NonFiniteJointError, ValueError)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("method", ["normalize", "denormalize", "clamp_normalized"])
def test_single_non_finite_value_raises(norm: JointNormalizer, bad: float, method: str) -> None:
    values = np.array([0.0] * 5 + [0.5])
    values[3] = bad
    with pytest.raises(NonFiniteJointError) as exc_info:
        getattr(norm, method)(values)
    msg = str(exc_info.value)
    assert "wrist_flex" in msg
    for name in EXPECTED_JOINTS:
        if name != "wrist_flex":
            assert repr(name) not in msg
    assert norm.clamped == 0


def test_multiple_non_finite_values_named(norm: JointNormalizer) -> None:
    values = [math.nan, 0.0, 0.0, 0.0, math.inf, -math.inf]
    with pytest.raises(NonFiniteJointError) as exc_info:
        norm.normalize(values)
    msg = str(exc_info.value)
    for name in ("shoulder_pan", "wrist_roll", "gripper"):
        assert name in msg
    for name in ("shoulder_lift", "elbow_flex", "wrist_flex"):
        assert name not in msg
    assert norm.clamped == 0


def test_non_finite_with_out_of_range_does_not_count(norm: JointNormalizer) -> None:
    norm.normalize(norm.upper_rad + 1.0)
    assert norm.clamped == 6
    values = norm.upper_rad + 5.0  # would clamp 5 elements if it were accepted
    values[1] = math.nan
    with pytest.raises(NonFiniteJointError, match="shoulder_lift"):
        norm.normalize(values)
    with pytest.raises(NonFiniteJointError, match="shoulder_lift"):
        norm.denormalize(np.where(np.isnan(values), math.nan, 1000.0))
    assert norm.clamped == 6


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    "values",
    [
        [0.0] * 5,
        [0.0] * 7,
        [],
        [[0.0] * 6],
        [[0.0] * 3, [0.0] * 3],
        0.0,
    ],
    ids=["five", "seven", "empty", "row-2d", "2x3", "scalar"],
)
@pytest.mark.parametrize("method", ["normalize", "denormalize", "clamp_normalized"])
def test_wrong_shape_raises_value_error(norm: JointNormalizer, values: object, method: str) -> None:
    with pytest.raises(ValueError, match=r"expected 6 values") as exc_info:
        getattr(norm, method)(values)
    assert not isinstance(exc_info.value, NonFiniteJointError)
    assert norm.clamped == 0


def test_wrong_shape_checked_before_finiteness(norm: JointNormalizer) -> None:
    with pytest.raises(ValueError) as exc_info:
        norm.normalize([math.nan] * 5)
    assert not isinstance(exc_info.value, NonFiniteJointError)


# --------------------------------------------------------------------------- custom profile


def test_custom_profile_normalization(tmp_path: Path) -> None:
    path = _write_profile(
        tmp_path / "bot.yaml",
        ["{name: j1, lower: 0.0, upper: 4.0}", "{name: grip, lower: 1.0, upper: 3.0, gripper: true}"],
    )
    norm = JointNormalizer(load_robot_profile(path))
    np.testing.assert_allclose(norm.normalize([1.0, 1.5]), [-50.0, 25.0], atol=1e-12)
    np.testing.assert_allclose(norm.normalize([3.0, 2.5]), [50.0, 75.0], atol=1e-12)
    np.testing.assert_allclose(norm.denormalize([0.0, 50.0]), [2.0, 2.0], atol=1e-12)
    np.testing.assert_allclose(norm.normalize([5.0, 0.0]), [100.0, 0.0], atol=1e-12)
    assert norm.clamped == 2
    with pytest.raises(ValueError, match="expected 2"):
        norm.normalize([0.0] * 6)

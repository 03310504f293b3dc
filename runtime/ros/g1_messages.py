"""Unitree G1 (``unitree_hg``) message conversions, topic names and QoS for the G1 nodes and the sidecar.

Topics and QoS (shared by :mod:`runtime.ros.g1_lowcmd_node`, :mod:`runtime.ros.g1_sim_node` and
:mod:`runtime.ros.g1_bridge`):

==========================  ============================  =========================================
``/lowstate``               ``unitree_hg/LowState``       sim -> node, 500 Hz, :data:`LOWLEVEL_QOS`
``/lowcmd``                 ``unitree_hg/LowCmd``         node -> sim, 500 Hz, :data:`LOWLEVEL_QOS`
``/cmd_vel``                ``geometry_msgs/Twist``       operator -> node, :data:`CONTROL_QOS`
``/g1/request``             ``std_msgs/String``           start|default|run|damp (or JSON with an id)
``/g1/status``              ``std_msgs/String``           node status JSON, ~10 Hz + on every change
``/g1/sim/pose``            ``geometry_msgs/PoseStamped`` sim pelvis pose, :data:`LOWLEVEL_QOS`
``/g1/sim/release``         ``std_msgs/Empty``            unfreeze the sim
``/g1/sim/status``          ``std_msgs/String``           sim stats JSON (CRC rejections, ...), ~10 Hz
``/g1/sim/remote``          ``std_msgs/String``           simulated wireless remote (JSON), held until the next
==========================  ============================  =========================================

``/lowcmd`` and ``/lowstate`` use Unitree's choice for its low-level topics: best effort, volatile,
keep-last 10. A lost sample is simply superseded 2 ms later, and nothing is replayed to a late
joiner; depth 10 (not 1) lets a burst after a scheduling hiccup be processed in order, so no LowState
escapes the NaN check. A best-effort subscription also matches a reliable publisher, so Unitree's
own tools interoperate. Control topics are reliable, volatile, depth 10: a ``damp`` request must not
be lost.

Two families of conversions: ROS message objects <-> numpy (duck-typed, for tools and tests), and
the raw CDR codecs used on the 500 Hz paths (no message objects at all; see the section below).
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from runtime.g1.crc import LowCmdPacker, lowcmd_crc, lowstate_crc, set_lowstate_crc
from runtime.g1.lowcmd_controller import LowStateSample
from runtime.g1.lowcmd_layout import LOWCMD_DTYPE, LOWCMD_SIZE, LOWSTATE_DTYPE, LOWSTATE_SIZE
from runtime.g1.lowcmd_layout import NUM_MOTORS as NUM_SLOTS
from runtime.g1.motors import NUM_MOTORS, MotorCommand
from runtime.g1.orientation import quat_to_rpy

LOWCMD_TOPIC = "/lowcmd"
LOWSTATE_TOPIC = "/lowstate"
CMD_VEL_TOPIC = "/cmd_vel"
REQUEST_TOPIC = "/g1/request"
STATUS_TOPIC = "/g1/status"
SIM_POSE_TOPIC = "/g1/sim/pose"
SIM_RELEASE_TOPIC = "/g1/sim/release"
SIM_STATUS_TOPIC = "/g1/sim/status"
SIM_REMOTE_TOPIC = "/g1/sim/remote"

LOWLEVEL_QOS = QoSProfile(
    depth=10,
    history=HistoryPolicy.KEEP_LAST,
    reliability=ReliabilityPolicy.BEST_EFFORT,
    durability=DurabilityPolicy.VOLATILE,
)
"""``/lowcmd``, ``/lowstate``, ``/g1/sim/pose``: best effort, volatile, keep last 10 (as Unitree)."""
CONTROL_QOS = QoSProfile(
    depth=10,
    history=HistoryPolicy.KEEP_LAST,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)
"""Requests, ``/cmd_vel``, status JSON: reliable, volatile, depth 10."""

REQUEST_TRIGGERS = ("start", "default", "run", "damp")
REMOTE_BYTES = 40


# ----------------------------------------------------------------------------------------- LowState


def lowstate_sample(msg: Any, received_at: float) -> LowStateSample:
    """The controller's :class:`LowStateSample` from a ``unitree_hg.msg.LowState`` (NaN/inf kept for safety)."""
    return LowStateSample.from_msg(msg, received_at)


def fill_lowstate_msg(
    msg: Any,
    q: ArrayLike,
    dq: ArrayLike,
    quat: ArrayLike,
    gyro: ArrayLike,
    acc: ArrayLike,
    *,
    tau_est: ArrayLike | None = None,
    rpy: ArrayLike | None = None,
    tick: int = 0,
    mode_machine: int = 0,
    mode_pr: int = 0,
    wireless_remote: bytes | Sequence[int] | None = None,
    crc: bool = True,
) -> Any:
    """Write a state into a ``unitree_hg.msg.LowState`` (29 motors, mode 1) and set its CRC; returns ``msg``."""
    tau = np.zeros(NUM_MOTORS) if tau_est is None else np.asarray(tau_est, dtype=np.float64)
    for m, qi, dqi, ti in zip(
        msg.motor_state,
        np.asarray(q, np.float64).tolist(),
        np.asarray(dq, np.float64).tolist(),
        tau.tolist(),
        strict=False,  # 35 slots, 29 motors
    ):
        m.mode = 1
        m.q = qi
        m.dq = dqi
        m.tau_est = ti
    imu = msg.imu_state
    imu.quaternion = np.asarray(quat, dtype=np.float32)
    imu.gyroscope = np.asarray(gyro, dtype=np.float32)
    imu.accelerometer = np.asarray(acc, dtype=np.float32)
    imu.rpy = np.asarray(quat_to_rpy(quat) if rpy is None else rpy, dtype=np.float32)
    msg.tick = int(tick) & 0xFFFFFFFF
    msg.mode_machine = int(mode_machine)
    msg.mode_pr = int(mode_pr)
    if wireless_remote is not None:
        msg.wireless_remote = np.frombuffer(bytes(bytearray(wireless_remote)), dtype=np.uint8)
    if crc:
        set_lowstate_crc(msg)
    return msg


# ------------------------------------------------------------------------------------------- LowCmd


def fill_lowcmd_msg(msg: Any, cmd: MotorCommand, packer: LowCmdPacker | None = None) -> Any:
    """Write ``cmd`` into a ``unitree_hg.msg.LowCmd`` with its CRC (packed by ``packer``); returns ``msg``."""
    packer = packer or LowCmdPacker()
    packer.pack(cmd.mode_pr, cmd.mode_machine, cmd.as_array())
    return packer.fill_msg(msg)


def motor_command_from_msg(msg: Any) -> MotorCommand:
    """The 35-slot motor block and header of a ``unitree_hg.msg.LowCmd`` (CRC not checked here)."""
    cols = np.array([(c.mode, c.q, c.dq, c.tau, c.kp, c.kd) for c in msg.motor_cmd], dtype=np.float64)
    if cols.shape != (NUM_SLOTS, 6):
        raise ValueError(f"a LowCmd has {NUM_SLOTS} motor commands, got {cols.shape[0]}")
    return MotorCommand(
        mode=cols[:, 0].astype(np.uint8),
        q=cols[:, 1].copy(),
        dq=cols[:, 2].copy(),
        tau=cols[:, 3].copy(),
        kp=cols[:, 4].copy(),
        kd=cols[:, 5].copy(),
        mode_pr=int(msg.mode_pr),
        mode_machine=int(msg.mode_machine),
    )


def is_damping_msg(msg: Any, kd: float = 8.0) -> bool:
    """True for a damping LowCmd: ``kp == 0`` and ``kd == kd`` on the 29 G1 motors."""
    return all(c.kp == 0.0 and c.kd == kd for c in msg.motor_cmd[:NUM_MOTORS])


# ------------------------------------------------------------------------------------ geometry / JSON


def twist_to_velocity(msg: Any) -> np.ndarray:
    """``(vx, vy, wz)`` from a ``geometry_msgs/Twist`` (other components ignored)."""
    return np.array([msg.linear.x, msg.linear.y, msg.angular.z], dtype=np.float64)


def velocity_to_twist(msg: Any, velocity: ArrayLike) -> Any:
    """Fill a ``geometry_msgs/Twist`` from ``(vx, vy, wz)``; returns ``msg``."""
    vx, vy, wz = (float(v) for v in np.asarray(velocity, dtype=np.float64).reshape(3))
    msg.linear.x, msg.linear.y, msg.angular.z = vx, vy, wz
    return msg


def fill_pose_stamped(msg: Any, position: ArrayLike, quat_wxyz: ArrayLike, stamp_ns: int, frame_id: str) -> Any:
    """Fill a ``geometry_msgs/PoseStamped`` (quaternion given ``w, x, y, z``); returns ``msg``."""
    x, y, z = (float(v) for v in np.asarray(position, dtype=np.float64).reshape(3))
    w, qx, qy, qz = (float(v) for v in np.asarray(quat_wxyz, dtype=np.float64).reshape(4))
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(int(stamp_ns), 1_000_000_000)
    msg.header.frame_id = frame_id
    p, o = msg.pose.position, msg.pose.orientation
    p.x, p.y, p.z = x, y, z
    o.w, o.x, o.y, o.z = w, qx, qy, qz
    return msg


def pose_from_msg(msg: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(position xyz, quaternion wxyz)`` of a ``geometry_msgs/PoseStamped``."""
    p, o = msg.pose.position, msg.pose.orientation
    return np.array([p.x, p.y, p.z]), np.array([o.w, o.x, o.y, o.z])


def encode_json(data: dict[str, Any]) -> str:
    """Compact JSON; NaN/inf become null (status payloads must stay valid JSON)."""
    return json.dumps(_finite(data), separators=(",", ":"))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value


@dataclass(frozen=True)
class Request:
    """An operator request from ``/g1/request``: the trigger and an optional id echoed in the status."""

    trigger: str
    id: str = ""


def parse_request(text: str) -> Request:
    """``"damp"`` or ``{"trigger": "damp", "id": "..."}``; ValueError for anything else."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"request is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("a JSON request must be an object")
        trigger, rid = str(data.get("trigger", "")).strip().lower(), str(data.get("id", ""))
    else:
        trigger, rid = text.lower(), ""
    if trigger not in REQUEST_TRIGGERS:
        raise ValueError(f"unknown request {trigger!r}; expected one of {', '.join(REQUEST_TRIGGERS)}")
    return Request(trigger, rid)


def encode_request(trigger: str, request_id: str = "") -> str:
    """The ``/g1/request`` payload for ``trigger`` (JSON when an id is given)."""
    if trigger not in REQUEST_TRIGGERS:
        raise ValueError(f"unknown request {trigger!r}; expected one of {', '.join(REQUEST_TRIGGERS)}")
    return json.dumps({"trigger": trigger, "id": request_id}) if request_id else trigger


# ------------------------------------------------------------------------------------ wireless remote

_REMOTE_HEAD = struct.Struct("<2xH5f")  # head, buttons, lx, rx, ry, L2, ly: runtime.g1.remote's layout


def pack_wireless_remote(
    buttons: int | Sequence[str] = 0,
    lx: float = 0.0,
    rx: float = 0.0,
    ry: float = 0.0,
    l2: float = 0.0,
    ly: float = 0.0,
) -> bytes:
    """The 40-byte ``LowState.wireless_remote`` (inverse of :func:`runtime.g1.remote.parse_wireless_remote`).

    ``buttons``: the uint16 mask, or button names (``"select"``, ``"start"``, ``"a"``, ...).
    """
    from runtime.g1.remote import Button

    if not isinstance(buttons, int):
        mask = 0
        for name in buttons:
            try:
                mask |= Button[str(name).upper()].mask
            except KeyError:
                raise ValueError(f"unknown remote button {name!r}; known: {[b.name for b in Button]}") from None
        buttons = mask
    if not 0 <= buttons <= 0xFFFF:
        raise ValueError(f"remote button mask {buttons} does not fit in uint16")
    raw = _REMOTE_HEAD.pack(buttons, lx, rx, ry, l2, ly)
    return raw + bytes(REMOTE_BYTES - len(raw))


def remote_from_json(text: str) -> bytes:
    """``{"buttons": ["select"], "lx": 0.0, "ly": 0.5, ...}`` -> the 40 remote bytes (ValueError if malformed)."""
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"remote state is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("remote state must be a JSON object")
    unknown = set(data) - {"buttons", "lx", "rx", "ry", "l2", "ly"}
    if unknown:
        raise ValueError(f"unknown remote fields {sorted(unknown)}")
    sticks = {k: float(data.get(k, 0.0)) for k in ("lx", "rx", "ry", "l2", "ly")}
    buttons = data.get("buttons", [])
    if isinstance(buttons, str):
        buttons = [buttons]
    return pack_wireless_remote(buttons if not isinstance(buttons, int) else int(buttons), **sticks)


# ------------------------------------------------------------------------------ raw CDR (500 Hz paths)
#
# rclpy turns a LowState into ~600 Python objects (~330 us) and back; at 500 Hz per topic that is
# most of a core. Both messages are fixed-size, so their serialized form (XCDR1, little-endian, the
# 4-byte encapsulation header then the payload) is a fixed byte layout. It equals Unitree's C struct
# (runtime.g1.lowcmd_layout, what the CRC covers) except that CDR does not pad before the first
# motor's ``mode`` byte: everything from the first motor's ``q`` on sits 4 bytes earlier. The nodes
# use raw subscriptions (``raw=True``) and ``publish(bytes)`` with these conversions; the tests check
# them against rclpy's own serialization.

CDR_HEADER = b"\x00\x01\x00\x00"  # CDR_LE encapsulation
LOWCMD_CDR_SIZE = len(CDR_HEADER) + LOWCMD_SIZE - 4
LOWSTATE_CDR_SIZE = len(CDR_HEADER) + LOWSTATE_SIZE - 4
_LS_IMU_END = 70  # version .. imu temperature (C and CDR agree up to here)
_LS_MOTORS = 72  # C offset of motor_state[0].mode


def lowcmd_struct_to_cdr(struct_bytes: bytes | np.ndarray) -> bytes:
    """A LowCmd C struct (1004 bytes, crc included) as a serialized ``unitree_hg/LowCmd``."""
    c = np.frombuffer(struct_bytes, dtype=np.uint8)
    out = np.zeros(LOWCMD_CDR_SIZE, dtype=np.uint8)
    out[:4] = np.frombuffer(CDR_HEADER, dtype=np.uint8)
    out[4:6] = c[0:2]  # mode_pr, mode_machine
    out[6] = c[4]  # motor_cmd[0].mode
    out[8:] = c[8:]  # motor_cmd[0].q ... crc
    return out.tobytes()


def lowcmd_cdr_to_struct(raw: bytes) -> np.ndarray:
    """A serialized ``unitree_hg/LowCmd`` as its C struct: a ``LOWCMD_DTYPE`` record (0-d array)."""
    b = np.frombuffer(raw, dtype=np.uint8)
    if b.size != LOWCMD_CDR_SIZE:
        raise ValueError(f"a serialized LowCmd is {LOWCMD_CDR_SIZE} bytes, got {b.size}")
    c = np.zeros(LOWCMD_SIZE, dtype=np.uint8)
    c[0:2] = b[4:6]
    c[4] = b[6]
    c[8:] = b[8:]
    words = c.view("<u4")
    words[8:245:7] &= 0xFF  # the padding after motor_cmd[1:].mode (CDR padding is not zeroed by senders)
    return c.view(LOWCMD_DTYPE)[0]


def lowstate_struct_to_cdr(struct_bytes: bytes | np.ndarray) -> bytes:
    """A LowState C struct (2092 bytes, crc included) as a serialized ``unitree_hg/LowState``."""
    c = np.frombuffer(struct_bytes, dtype=np.uint8)
    out = np.zeros(LOWSTATE_CDR_SIZE, dtype=np.uint8)
    out[:4] = np.frombuffer(CDR_HEADER, dtype=np.uint8)
    out[4 : 4 + _LS_IMU_END] = c[:_LS_IMU_END]
    out[4 + _LS_IMU_END] = c[_LS_MOTORS]  # motor_state[0].mode
    out[4 + _LS_MOTORS :] = c[_LS_MOTORS + 4 :]
    return out.tobytes()


def lowstate_cdr_to_struct(raw: bytes) -> np.ndarray:
    """A serialized ``unitree_hg/LowState`` as its C struct: a ``LOWSTATE_DTYPE`` record (0-d array)."""
    b = np.frombuffer(raw, dtype=np.uint8)
    if b.size != LOWSTATE_CDR_SIZE:
        raise ValueError(f"a serialized LowState is {LOWSTATE_CDR_SIZE} bytes, got {b.size}")
    c = np.zeros(LOWSTATE_SIZE, dtype=np.uint8)
    c[:_LS_IMU_END] = b[4 : 4 + _LS_IMU_END]
    c[_LS_MOTORS] = b[4 + _LS_IMU_END]
    c[_LS_MOTORS + 4 :] = b[4 + _LS_MOTORS :]
    words = c.view("<u4")
    words[2] &= 0xFFFF  # padding after mode_pr, mode_machine (CDR padding is not zeroed by senders)
    words[32:508:14] &= 0xFF  # padding after motor_state[1:].mode
    return c.view(LOWSTATE_DTYPE)[0]


def lowstate_record_crc_ok(rec: np.ndarray) -> bool:
    """True when a ``LOWSTATE_DTYPE`` record's ``crc`` matches its fields."""
    return lowstate_crc(rec.tobytes()) == int(rec["crc"])


def lowcmd_record_crc_ok(rec: np.ndarray) -> bool:
    """True when a ``LOWCMD_DTYPE`` record's ``crc`` matches its fields."""
    return lowcmd_crc(rec.tobytes()) == int(rec["crc"])


def sample_from_lowstate_record(rec: np.ndarray, received_at: float) -> LowStateSample:
    """The controller's :class:`LowStateSample` from a ``LOWSTATE_DTYPE`` record (NaN/inf kept)."""
    motors = rec["motor_state"][:NUM_MOTORS]
    imu = rec["imu_state"]
    return LowStateSample(
        q=motors["q"],
        dq=motors["dq"],
        tau=motors["tau_est"],
        quat=imu["quaternion"],
        gyro=imu["gyroscope"],
        acc=imu["accelerometer"],
        tick=int(rec["tick"]),
        mode_machine=int(rec["mode_machine"]),
        mode_pr=int(rec["mode_pr"]),
        wireless_remote=rec["wireless_remote"].tobytes(),
        received_at=received_at,
    )


def motors_from_lowcmd_record(rec: np.ndarray) -> np.ndarray:
    """``(35, 6)`` float64 columns ``mode, q, dq, tau, kp, kd`` of a ``LOWCMD_DTYPE`` record."""
    m = rec["motor_cmd"]
    return np.stack([m["mode"], m["q"], m["dq"], m["tau"], m["kp"], m["kd"]], axis=1).astype(np.float64)


class LowStatePacker:
    """Builds serialized LowStates (C struct + CRC -> CDR) from arrays into one preallocated record."""

    def __init__(self) -> None:
        self.record = np.zeros((), dtype=LOWSTATE_DTYPE)
        self.record["version"] = (1, 0)

    def pack(
        self,
        q: ArrayLike,
        dq: ArrayLike,
        quat: ArrayLike,
        gyro: ArrayLike,
        acc: ArrayLike,
        *,
        tau_est: ArrayLike | None = None,
        rpy: ArrayLike | None = None,
        tick: int = 0,
        mode_machine: int = 0,
        mode_pr: int = 0,
        wireless_remote: bytes | None = None,
    ) -> bytes:
        """The serialized ``unitree_hg/LowState`` for this state (29 motors, mode 1), CRC set."""
        r = self.record
        motors = r["motor_state"]
        motors["mode"][:NUM_MOTORS] = 1
        motors["q"][:NUM_MOTORS] = np.asarray(q, dtype=np.float64)[:NUM_MOTORS]
        motors["dq"][:NUM_MOTORS] = np.asarray(dq, dtype=np.float64)[:NUM_MOTORS]
        motors["tau_est"][:NUM_MOTORS] = 0.0 if tau_est is None else np.asarray(tau_est)[:NUM_MOTORS]
        imu = r["imu_state"]
        imu["quaternion"] = quat
        imu["gyroscope"] = gyro
        imu["accelerometer"] = acc
        imu["rpy"] = quat_to_rpy(quat) if rpy is None else rpy
        r["tick"] = int(tick) & 0xFFFFFFFF
        r["mode_machine"] = mode_machine
        r["mode_pr"] = mode_pr
        if wireless_remote is not None:
            r["wireless_remote"] = np.frombuffer(bytes(wireless_remote), dtype=np.uint8)
        r["crc"] = lowstate_crc(r.tobytes())
        return lowstate_struct_to_cdr(r.tobytes())

"""Helpers for the G1 tests: a recorder of the G1 topics, a fault-injection policy, and small utilities.

* :class:`G1Recorder`: an rclpy node (own context and executor thread) recording every ``/lowcmd``
  and ``/lowstate`` with the time DDS received it in this process and the time its publisher wrote
  it (``MessageInfo``, stamped by the middleware's receive threads, made SCHED_FIFO where permitted,
  so a busy executor here cannot skew them), converted to ``time.monotonic()``: the clock of the
  nodes' status ``t`` fields (CLOCK_MONOTONIC is system-wide on Linux). Also the latest
  ``/g1/status`` and ``/g1/sim/status``.
* :func:`fault_injection_policy`: the untrained stand-in policy plus ONNX nodes that output NaN when
  the yaw-rate command is near its maximum and hang (an ONNX ``Loop``) when the lateral command is,
  so the NaN-output and missing-output paths are driven through ``/cmd_vel`` like any command.
"""

from __future__ import annotations

import gc
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tests.e2e.ros_helpers import RosTestNode, wait_until

CMD_SCALE = (2.0, 2.0, 0.25)  # the stand-in deploy.yaml's cmd_scale (vx, vy, wz)
NAN_WZ = 1.5  # |wz| >= this (rad/s; max_cmd 1.57) -> the policy outputs NaN
HANG_VY = 0.45  # |vy| >= this (m/s; max_cmd 0.5) -> the policy hangs (~HANG_S)
HANG_S = 0.3
MAX_VY = 0.5  # the stand-in deploy.yaml max_cmd[1]


@dataclass(frozen=True)
class LowCmdSample:
    t: float  # received by DDS in this process (MessageInfo), on the monotonic clock
    t_sent: float  # written by the publisher (its source timestamp), on the monotonic clock
    damping: bool
    zero_torque: bool
    mode_machine: int
    crc: int
    crc_ok: bool
    q: np.ndarray  # 29 targets
    kp: np.ndarray
    modes: np.ndarray


@dataclass(frozen=True)
class LowStateSampleRx:
    t: float  # received by DDS in this process, monotonic clock
    t_sent: float
    tick: int
    q: np.ndarray
    buttons: int  # the remote's button bits in ``wireless_remote``
    raw: bytes  # the serialized message (for re-publishing a modified copy)


class G1Recorder:
    """Records ``/lowcmd``, ``/lowstate``, ``/g1/status``, ``/g1/sim/status`` on ``domain``; publishes requests."""

    def __init__(self, domain: int, name: str = "g1_e2e_recorder") -> None:
        from geometry_msgs.msg import PoseStamped
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
        from std_msgs.msg import String
        from unitree_hg.msg import LowCmd, LowState

        from runtime.ros.g1_messages import (
            CONTROL_QOS,
            LOWCMD_TOPIC,
            LOWLEVEL_QOS,
            LOWSTATE_TOPIC,
            REQUEST_TOPIC,
            SIM_POSE_TOPIC,
            SIM_REMOTE_TOPIC,
            SIM_STATUS_TOPIC,
            STATUS_TOPIC,
        )

        self._wall_minus_mono = time.time() - time.monotonic()
        self.ros = RosTestNode(domain, name)
        self.node = self.ros.node
        self._lock = threading.Lock()
        self.lowcmds: list[LowCmdSample] = []
        self.lowstates: list[LowStateSampleRx] = []
        self.status: dict[str, Any] | None = None
        self.sim_status: dict[str, Any] | None = None
        self.pose: Any = None
        record = QoSProfile(depth=200, reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST)
        self.node.create_subscription(LowCmd, LOWCMD_TOPIC, self._on_lowcmd, record, raw=True)
        self.node.create_subscription(LowState, LOWSTATE_TOPIC, self._on_lowstate, record, raw=True)
        self.node.create_subscription(String, STATUS_TOPIC, self._on_status, CONTROL_QOS)
        self.node.create_subscription(String, SIM_STATUS_TOPIC, self._on_sim_status, CONTROL_QOS)
        self.node.create_subscription(PoseStamped, SIM_POSE_TOPIC, self._on_pose, LOWLEVEL_QOS)
        self.request_pub = self.node.create_publisher(String, REQUEST_TOPIC, CONTROL_QOS)
        self.remote_pub = self.node.create_publisher(String, SIM_REMOTE_TOPIC, CONTROL_QOS)
        self._promote_threads()
        gc.collect()
        gc.freeze()  # the test's import heap: a full collection over it would stall the recorder ~50 ms

    @staticmethod
    def _promote_threads() -> None:
        """SCHED_FIFO 5 for this process's DDS threads (``dds.*``: where the reception stamps are taken).

        The executor stays an ordinary thread: it handles ~1000 messages/s and, as real-time, would take
        CPU from the nodes under test (their loops and policy thread run at SCHED_FIFO 6-10).
        """
        import os

        for tid in (int(t) for t in os.listdir("/proc/self/task")):
            try:
                with open(f"/proc/self/task/{tid}/comm") as f:
                    if not f.read().startswith("dds."):
                        continue
                if os.sched_getscheduler(tid) == os.SCHED_OTHER:
                    os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(5))
            except (PermissionError, OSError):
                continue

    # -- callbacks (executor thread) ----------------------------------------------------------------

    def _mono(self, wall_ns: int) -> float:
        """A middleware timestamp (system clock, ns) on this process's monotonic clock."""
        return wall_ns / 1e9 - self._wall_minus_mono

    def _on_lowcmd(self, raw: bytes, info: Any) -> None:
        from runtime.ros.g1_messages import lowcmd_cdr_to_struct, lowcmd_record_crc_ok

        t = self._mono(info["received_timestamp"])
        rec = lowcmd_cdr_to_struct(raw)
        motors = rec["motor_cmd"]
        kp = motors["kp"][:29].astype(np.float64)
        kd = motors["kd"][:29].astype(np.float64)
        sample = LowCmdSample(
            t=t,
            t_sent=self._mono(info["source_timestamp"]),
            damping=bool(np.all(kp == 0.0) and np.all(kd == 8.0)),
            zero_torque=bool(np.all(kp == 0.0) and np.all(kd == 0.0)),
            mode_machine=int(rec["mode_machine"]),
            crc=int(rec["crc"]),
            crc_ok=lowcmd_record_crc_ok(rec),
            q=motors["q"][:29].astype(np.float64),
            kp=kp,
            modes=motors["mode"].astype(np.int64),
        )
        with self._lock:
            self.lowcmds.append(sample)
            if len(self.lowcmds) % 1000 == 0:
                gc.freeze()  # recorded samples stay alive anyway: keep collections from rescanning them

    def _on_lowstate(self, raw: bytes, info: Any) -> None:
        from runtime.g1.remote import parse_wireless_remote
        from runtime.ros.g1_messages import lowstate_cdr_to_struct

        t, t_sent = self._mono(info["received_timestamp"]), self._mono(info["source_timestamp"])
        rec = lowstate_cdr_to_struct(raw)
        q = rec["motor_state"]["q"][:29].astype(np.float64)
        buttons = parse_wireless_remote(rec["wireless_remote"]).buttons
        with self._lock:
            self.lowstates.append(LowStateSampleRx(t, t_sent, int(rec["tick"]), q, buttons, bytes(raw)))
            if len(self.lowstates) > 20000:  # bounded: ~40 s at 500 Hz
                del self.lowstates[:10000]

    def _on_status(self, msg: Any) -> None:
        self.status = json.loads(msg.data)

    def _on_sim_status(self, msg: Any) -> None:
        self.sim_status = json.loads(msg.data)

    def _on_pose(self, msg: Any) -> None:
        self.pose = msg

    # -- queries -----------------------------------------------------------------------------------

    def cmds_since(self, t: float) -> list[LowCmdSample]:
        with self._lock:
            return [c for c in self.lowcmds if c.t >= t]

    def last_lowstate(self) -> LowStateSampleRx | None:
        with self._lock:
            return self.lowstates[-1] if self.lowstates else None

    def first_lowstate_holding(self, button: Any, t: float) -> LowStateSampleRx | None:
        """The first LowState sent at or after ``t`` with ``button`` (a :class:`runtime.g1.remote.Button`) held."""
        with self._lock:
            return next((s for s in self.lowstates if s.t_sent >= t and s.buttons & button.mask), None)

    def first_damping_after(self, t: float) -> LowCmdSample | None:
        return next((c for c in self.cmds_since(t) if c.damping), None)

    def wait_status(self, predicate: Any, timeout: float, what: str) -> dict[str, Any]:
        return wait_until(lambda: self.status if self.status and predicate(self.status) else None, timeout, what)

    def wait_state(self, state: str, timeout: float = 10.0) -> dict[str, Any]:
        return self.wait_status(lambda s: s["state"] == state, timeout, f"G1 state {state} (now {self._state()})")

    def _state(self) -> str | None:
        return None if self.status is None else self.status.get("state")

    # -- outputs -----------------------------------------------------------------------------------

    def request(self, trigger: str) -> float:
        """Publish ``trigger`` on ``/g1/request``; returns the monotonic time just before publishing."""
        from std_msgs.msg import String

        wait_until(lambda: self.request_pub.get_subscription_count() >= 1, 10.0, "a /g1/request subscriber")
        t = time.monotonic()
        self.request_pub.publish(String(data=trigger))
        return t

    def remote(self, buttons: list[str] | None = None, **sticks: float) -> float:
        """Set the simulated remote (``/g1/sim/remote``); returns the time just before publishing."""
        from std_msgs.msg import String

        wait_until(lambda: self.remote_pub.get_subscription_count() >= 1, 10.0, "a /g1/sim/remote subscriber")
        t = time.monotonic()
        self.remote_pub.publish(String(data=json.dumps({"buttons": buttons or [], **sticks})))
        return t

    def press(self, button: str, hold_s: float = 0.05) -> float:
        """Press ``button`` on the simulated remote for ``hold_s`` (several LowStates); returns the press time."""
        t = self.remote([button])
        time.sleep(hold_s)
        self.remote()
        return t

    def shutdown(self) -> None:
        self.ros.shutdown()
        gc.unfreeze()


def damping_latency(rec: G1Recorder, fault_t: float, timeout: float = 3.0) -> tuple[float, LowCmdSample]:
    """Seconds from ``fault_t`` until the node SENT the first damping LowCmd seen after it (its DDS source timestamp).

    The send time, not this process's receipt: delivery into a test process that a loaded 2-core box may not
    schedule for a few ms says nothing about the node (``first.t - fault_t`` is that, for reports).
    """
    first = wait_until(lambda: rec.first_damping_after(fault_t - 0.002), timeout, "a damping LowCmd on /lowcmd")
    return first.t_sent - fault_t, first


# =========================================================================== fault-injection policy


def fault_injection_policy(out_dir: Path, hang_s: float = HANG_S) -> Path:
    """The stand-in MLP policy plus two faults keyed on the velocity command (obs[7] = vy, obs[8] = wz, scaled).

    * ``|wz| >= NAN_WZ``: ``actions += 0 * sqrt(thr - wz_obs)`` -> NaN.
    * ``|vy| >= HANG_VY``: an ONNX ``Loop`` of 256x256 matmuls runs ~``hang_s`` before the output appears.
    Below the thresholds the outputs are the stand-in's, bit for bit.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from runtime.g1.velocity_policy_init import init_velocity_policy

    root = init_velocity_policy(out_dir)
    model = onnx.load(str(root / "policy.onnx"))
    graph = model.graph
    for node in graph.node:
        node.output[:] = ["actions_raw" if o == "actions" else o for o in node.output]

    dim = 256
    rng = np.random.default_rng(0)
    w, _ = np.linalg.qr(rng.normal(size=(dim, dim)))  # orthogonal: the loop state stays bounded
    iters_per_s = _loop_iterations_per_second(w.astype(np.float32))
    nan_thr = NAN_WZ * CMD_SCALE[2] - 0.01
    hang_thr = HANG_VY * CMD_SCALE[1] - 0.01
    hang_k = hang_s * iters_per_s / (MAX_VY * CMD_SCALE[1] - hang_thr)  # vy = max_cmd -> hang_s

    def const(name: str, value: Any, dtype: Any = np.float32) -> None:
        graph.initializer.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))

    const("fi.s7", [7], np.int64)
    const("fi.e7", [8], np.int64)
    const("fi.s8", [8], np.int64)
    const("fi.e8", [9], np.int64)
    const("fi.ax1", [1], np.int64)
    const("fi.nan_thr", [[nan_thr]])
    const("fi.hang_thr", [[hang_thr]])
    const("fi.hang_k", [[hang_k]])
    const("fi.zero", [[0.0]])
    const("fi.v0", np.full((1, dim), 0.1))
    const("fi.sq_axes", [0, 1], np.int64)

    body = helper.make_graph(
        [
            helper.make_node("MatMul", ["v_in", "fi.w"], ["v_mm"]),
            helper.make_node("Tanh", ["v_mm"], ["v_out"]),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        ],
        "fi_hang_body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [1, dim]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1, dim]),
        ],
        initializer=[numpy_helper.from_array(w.astype(np.float32), "fi.w")],
    )
    graph.node.extend(
        [
            # NaN: 0 * sqrt(thr - |wz_obs|)
            helper.make_node("Slice", ["obs", "fi.s8", "fi.e8", "fi.ax1"], ["fi.wz"]),
            helper.make_node("Abs", ["fi.wz"], ["fi.wz_abs"]),
            helper.make_node("Sub", ["fi.nan_thr", "fi.wz_abs"], ["fi.nan_arg"]),
            helper.make_node("Sqrt", ["fi.nan_arg"], ["fi.nan_sqrt"]),
            helper.make_node("Mul", ["fi.nan_sqrt", "fi.zero"], ["fi.nan_term"]),
            # hang: Loop(k * relu(|vy_obs| - thr)) of matmuls, contributes 0 * sum(v)
            helper.make_node("Slice", ["obs", "fi.s7", "fi.e7", "fi.ax1"], ["fi.vy"]),
            helper.make_node("Abs", ["fi.vy"], ["fi.vy_abs"]),
            helper.make_node("Sub", ["fi.vy_abs", "fi.hang_thr"], ["fi.vy_over"]),
            helper.make_node("Relu", ["fi.vy_over"], ["fi.vy_relu"]),
            helper.make_node("Mul", ["fi.vy_relu", "fi.hang_k"], ["fi.trip_f"]),
            helper.make_node("Cast", ["fi.trip_f"], ["fi.trip_2d"], to=TensorProto.INT64),
            helper.make_node("Squeeze", ["fi.trip_2d", "fi.sq_axes"], ["fi.trip"]),
            helper.make_node("Loop", ["fi.trip", "", "fi.v0"], ["fi.v_final"], body=body),
            helper.make_node("ReduceSum", ["fi.v_final"], ["fi.v_sum"], keepdims=1),
            helper.make_node("Mul", ["fi.v_sum", "fi.zero"], ["fi.hang_term"]),
            helper.make_node("Add", ["actions_raw", "fi.nan_term"], ["fi.a1"]),
            helper.make_node("Add", ["fi.a1", "fi.hang_term"], ["actions"]),
        ]
    )
    onnx.checker.check_model(model)
    (root / "policy.onnx").write_bytes(model.SerializeToString())
    return root


def _loop_iterations_per_second(w: np.ndarray, iterations: int = 2000) -> float:
    """How many ``tanh(v @ w)`` Loop iterations onnxruntime runs per second here (one thread)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    dim = w.shape[0]
    body = helper.make_graph(
        [
            helper.make_node("MatMul", ["v_in", "w"], ["v_mm"]),
            helper.make_node("Tanh", ["v_mm"], ["v_out"]),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [1, dim]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1, dim]),
        ],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    graph = helper.make_graph(
        [helper.make_node("Loop", ["n", "", "v0"], ["v"], body=body)],
        "calib",
        [
            helper.make_tensor_value_info("n", TensorProto.INT64, []),
            helper.make_tensor_value_info("v0", TensorProto.FLOAT, [1, dim]),
        ],
        [helper.make_tensor_value_info("v", TensorProto.FLOAT, [1, dim])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    v0 = np.full((1, dim), 0.1, dtype=np.float32)
    sess.run(None, {"n": np.array(10, np.int64), "v0": v0})
    t0 = time.perf_counter()
    sess.run(None, {"n": np.array(iterations, np.int64), "v0": v0})
    return iterations / (time.perf_counter() - t0)

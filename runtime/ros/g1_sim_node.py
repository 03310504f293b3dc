"""ROS 2 face of the simulated G1 (:class:`runtime.sim.g1_sim.G1Sim`): a stand-in for the robot's low-level DDS.

* ``/lowstate`` (``unitree_hg/LowState``): every state the physics thread hands over (500 Hz), with
  the sim tick, ``mode_machine``, the simulated remote and the CRC; published from that thread.
* ``/lowcmd`` (``unitree_hg/LowCmd``): taken by the physics thread before each state it publishes
  (as a robot's control loop reads the latest command each cycle) and applied only when its CRC is
  valid (others are counted and dropped, as the robot does); the PD law uses the latest one.
* ``/g1/sim/pose`` (``geometry_msgs/PoseStamped``, frame ``world``): the pelvis ground truth.
* ``/g1/sim/release`` (``std_msgs/Empty``): unfreeze a sim started with ``freeze``.
* ``/g1/sim/remote`` (``std_msgs/String`` JSON ``{"buttons": ["select"], "ly": 0.5}``): the wireless
  remote state carried in the following LowStates (held until the next message).
* ``/g1/sim/status`` (``std_msgs/String`` JSON): sim figures and the command counters.

Both 500 Hz topics travel as serialized bytes through the numpy codecs of :mod:`runtime.ros.g1_messages`.
The heap is frozen once built and the GIL switch interval shortened at :meth:`start` (as in the
lowcmd node); with ``realtime`` (where permitted) every thread goes to SCHED_FIFO 5 at :meth:`start`
and the physics thread to 10 on its first state (see
:func:`runtime.ros.g1_lowcmd_node.promote_threads_realtime`): the sim stands in for the robot's
hardware loop, which does not stall under load.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from std_msgs.msg import Empty, String
from unitree_hg.msg import LowCmd, LowState

from runtime.deadline_loop import request_realtime_priority
from runtime.g1.orientation import quat_to_rpy
from runtime.rolling_stats import RollingStats
from runtime.ros.g1_lowcmd_node import (
    GIL_SWITCH_S,
    LEAN_NODE_OPTIONS,
    GcPauses,
    PolledSubscription,
    freeze_heap,
    promote_threads_realtime,
)
from runtime.ros.g1_messages import (
    CONTROL_QOS,
    LOWCMD_TOPIC,
    LOWLEVEL_QOS,
    LOWSTATE_TOPIC,
    SIM_POSE_TOPIC,
    SIM_RELEASE_TOPIC,
    SIM_REMOTE_TOPIC,
    SIM_STATUS_TOPIC,
    LowStatePacker,
    encode_json,
    fill_pose_stamped,
    lowcmd_cdr_to_struct,
    lowcmd_record_crc_ok,
    motors_from_lowcmd_record,
    remote_from_json,
)

log = logging.getLogger(__name__)

PHYSICS_PRIORITY = 10  # SCHED_FIFO of the physics thread (it stands in for the robot's hardware loop)
SIM_MODE_MACHINE = 5
"""``LowState.mode_machine`` the sim reports (a non-zero stand-in for the G1 29-DoF robot type)."""


def build_sim(opts: dict[str, Any]) -> Any:
    """A :class:`G1Sim` from the ``runrobot g1 sim`` options (model, base, weld, freeze, rate, max_catch_up)."""
    from runtime.sim.g1_sim import MAX_CATCH_UP_S, G1Sim

    return G1Sim(
        opts.get("model") or None,
        fixed_base=bool(opts.get("fixed_base")),
        weld_upper_body=bool(opts.get("weld_upper_body")),
        freeze=bool(opts.get("freeze")),
        state_rate_hz=float(opts.get("rate") or 500.0),
        max_catch_up_s=MAX_CATCH_UP_S if opts.get("max_catch_up") is None else float(opts["max_catch_up"]),
    )


class G1SimNode(Node):
    """Publishes the sim's LowState, applies CRC-valid LowCmds, serves pose, release, remote and status."""

    def __init__(
        self,
        sim: Any,  # runtime.sim.g1_sim.G1Sim (its state_rate_hz sets the LowState rate)
        status_hz: float = 10.0,
        pose_hz: float = 50.0,
        frozen: bool | None = None,
        mode_machine: int = SIM_MODE_MACHINE,
        realtime: bool = True,
        name: str = "runrobot_g1_sim",
        **kwargs: Any,
    ) -> None:
        super().__init__(name, **{**LEAN_NODE_OPTIONS, **kwargs})
        self.sim = sim
        self.mode_machine = mode_machine
        self.realtime = realtime
        self.physics_realtime: bool | None = None
        self.realtime_threads = 0
        self._requested_freeze = frozen
        self._packer = LowStatePacker()
        self._pose_msg = PoseStamped()
        self._remote = bytes(40)
        self._lowstate_pub = self.create_publisher(LowState, LOWSTATE_TOPIC, LOWLEVEL_QOS)
        self._pose_pub = self.create_publisher(PoseStamped, SIM_POSE_TOPIC, LOWLEVEL_QOS)
        self._status_pub = self.create_publisher(String, SIM_STATUS_TOPIC, CONTROL_QOS)
        self.io_node = Node(f"{name}_io", context=self.context, **LEAN_NODE_OPTIONS)  # never spun
        self._lowcmd_sub = PolledSubscription(self.io_node, LowCmd, LOWCMD_TOPIC, LOWLEVEL_QOS)
        self.create_subscription(Empty, SIM_RELEASE_TOPIC, self._on_release, CONTROL_QOS)
        self.create_subscription(String, SIM_REMOTE_TOPIC, self._on_remote, CONTROL_QOS)
        self.counters = {
            "lowstates_published": 0,
            "lowcmd_received": 0,
            "lowcmd_applied": 0,
            "crc_rejected": 0,
            "invalid_rejected": 0,
            "mode_machine_mismatches": 0,
            "releases": 0,
            "remote_updates": 0,
            "remote_errors": 0,
        }
        self.last_rejection: str | None = None
        self.last_lowcmd_at: float | None = None
        self.lowcmd_interval = RollingStats()
        self.publish_time = RollingStats()
        self.publish_max_s = 0.0  # since start: the windowed figures above forget startup
        self.state_gap_max_s = 0.0
        self._last_state_at: float | None = None
        self._running = False
        self.create_timer(1.0 / status_hz, self.publish_status)
        self.create_timer(1.0 / pose_hz, self._publish_pose)
        freeze_heap()  # before the physics thread runs: the one full collection must not stall it
        self.gc_pauses = GcPauses()

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        if sys.getswitchinterval() > GIL_SWITCH_S:
            sys.setswitchinterval(GIL_SWITCH_S)  # the physics thread waits at most this for the GIL
        if self.realtime:
            self.realtime_threads = promote_threads_realtime()
        if self._requested_freeze is not None and self._requested_freeze != self.sim.frozen:
            self.sim.reset(freeze=self._requested_freeze)
        self.sim.start(self._publish_state)
        self._running = True

    def stop(self) -> None:
        self._running = False
        self.sim.stop()
        self.gc_pauses.close()
        self.publish_status()

    def describe(self) -> str:
        return self.sim.startup_report()

    # -- physics thread ----------------------------------------------------------------------------

    def _publish_state(self, state: Any) -> None:
        """One LowState from a :class:`G1State` (sim thread): motors, IMU, tick, remote, CRC."""
        if self.physics_realtime is None:  # first state: on the physics thread
            self.physics_realtime = self.realtime and request_realtime_priority(PHYSICS_PRIORITY)
        while (taken := self._lowcmd_sub.take()) is not None:  # commands that arrived since the last step
            self._on_lowcmd(*taken)
        t0 = time.perf_counter()
        data = self._packer.pack(
            state.q[:29],
            state.dq[:29],
            state.quaternion,
            state.gyroscope,
            state.accelerometer,
            tau_est=state.tau_est[:29],
            rpy=state.rpy,
            tick=state.tick,
            mode_machine=self.mode_machine,
            wireless_remote=self._remote,
        )
        self._lowstate_pub.publish(data)
        self.counters["lowstates_published"] += 1
        t1 = time.perf_counter()
        self.publish_time.add(t1 - t0)
        self.publish_max_s = max(self.publish_max_s, t1 - t0)
        if self._last_state_at is not None:
            self.state_gap_max_s = max(self.state_gap_max_s, t1 - self._last_state_at)
        self._last_state_at = t1

    def destroy_node(self) -> None:
        self.io_node.destroy_node()
        super().destroy_node()

    # -- ROS callbacks -----------------------------------------------------------------------------

    def _on_lowcmd(self, raw: bytes, now: float) -> None:
        """A serialized LowCmd that arrived at ``now``: applied (latched for the next step) if its CRC is right."""
        self.counters["lowcmd_received"] += 1
        try:
            rec = lowcmd_cdr_to_struct(raw)
        except ValueError as exc:
            self._reject("invalid_rejected", str(exc))
            return
        if not lowcmd_record_crc_ok(rec):
            self._reject("crc_rejected", f"bad CRC {int(rec['crc']):#010x}")
            return
        if int(rec["mode_machine"]) != self.mode_machine:
            self.counters["mode_machine_mismatches"] += 1
        try:
            self.sim.set_motor_command(motors_from_lowcmd_record(rec))
        except ValueError as exc:
            self._reject("invalid_rejected", str(exc))
            return
        self.counters["lowcmd_applied"] += 1
        if self.last_lowcmd_at is not None:
            self.lowcmd_interval.add(now - self.last_lowcmd_at)
        self.last_lowcmd_at = now

    def _reject(self, counter: str, why: str) -> None:
        self.counters[counter] += 1
        self.last_rejection = why
        n = self.counters[counter]
        if n <= 3 or n % 500 == 0:  # rate-limited: a flood of bad commands must not flood the log
            log.warning("g1 sim: LowCmd rejected (%s, %d so far): %s", counter, n, why)

    def _on_release(self, _msg: Empty) -> None:
        was_frozen = self.sim.frozen
        self.sim.release()
        self.counters["releases"] += 1
        log.info("g1 sim: released%s", "" if was_frozen else " (was not frozen)")
        self.publish_status()

    def _on_remote(self, msg: String) -> None:
        try:
            self._remote = remote_from_json(msg.data)
        except ValueError as exc:
            self.counters["remote_errors"] += 1
            log.warning("g1 sim: bad remote state: %s", exc)
            return
        self.counters["remote_updates"] += 1

    def _publish_pose(self) -> None:
        if not self._running:
            return
        pos, quat = self.sim.base_pose()
        self._pose_pub.publish(fill_pose_stamped(self._pose_msg, pos, quat, time.time_ns(), "world"))

    # -- status ------------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        now = time.monotonic()
        pos, quat = self.sim.base_pose()
        return {
            **self.sim.stats(),
            "pelvis": {"position": np.round(pos, 4).tolist(), "rpy": np.round(quat_to_rpy(quat), 4).tolist()},
            **self.counters,
            "mode_machine": self.mode_machine,
            "last_rejection": self.last_rejection,
            "last_lowcmd_age_s": None if self.last_lowcmd_at is None else now - self.last_lowcmd_at,
            "lowcmd_interval": self.lowcmd_interval.summary_ms(),
            "lowstate_publish": self.publish_time.summary_ms(),
            "lowstate_publish_max_ms": round(self.publish_max_s * 1e3, 3),
            "lowstate_gap_max_ms": round(self.state_gap_max_s * 1e3, 3),
            "gc_pause": self.gc_pauses.summary(),
            "pid": os.getpid(),
            "physics_realtime": self.physics_realtime,
            "realtime_threads": self.realtime_threads,
            "t": now,
        }

    def publish_status(self) -> None:
        try:
            self._status_pub.publish(String(data=encode_json(self.stats())))
        except Exception:
            log.debug("g1 sim status publish failed", exc_info=True)

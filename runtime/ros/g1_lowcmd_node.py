"""ROS 2 face of the G1 lowcmd controller: ``/lowstate`` in, ``/lowcmd`` out, operator inputs, status JSON.

The controller (:mod:`runtime.g1.lowcmd_controller`) and its two deadline loops
(:mod:`runtime.g1.lowcmd_loop`: 500 Hz publish, 50 Hz policy) are ROS-free; this node only moves
messages in and out of them:

* ``/lowstate`` (``unitree_hg/LowState``)  -> ``controller.on_lowstate`` (state, NaN check, remote),
  taken by the publish loop at the top of each tick (:class:`PolledSubscription`, :class:`LoopHooks`)
* ``/cmd_vel`` (``geometry_msgs/Twist``)   -> ``controller.set_velocity_command`` (clipped to ``max_cmd``)
* ``/g1/request`` (``std_msgs/String``)    -> ``controller.request``: ``start|default|run|damp`` or
  ``{"trigger": ..., "id": ...}``; the outcome is echoed in the status as ``last_request``
* publish loop -> ``/lowcmd`` (``unitree_hg/LowCmd``, CRC set by :class:`~runtime.g1.crc.LowCmdPacker`)
* ``/g1/status`` (``std_msgs/String`` JSON) at ``status_hz``, right after every request, and within
  ``1/graph_hz`` of any other state change (safety events reach ``GET /g1`` promptly)

WAIT_STATE ends once ``/lowstate`` flows steadily (:data:`SETTLE_SAMPLES`), not on a lone first sample.
The ``/lowcmd`` publisher count (``count_publishers`` minus this node) is fed to the controller at
``graph_hz`` and before every request, so another publisher blocks leaving ZERO_TORQUE/DAMPING and
damps a driven robot. :meth:`G1LowCmdNode.stop` damps (the loop sends damping for ~20 ms) first.

Latency (what keeps the 500 Hz path within a fraction of a millisecond in CPython on 2 cores):

* ``/lowstate`` and ``/lowcmd`` travel as serialized bytes (raw subscription, ``publish(bytes)``)
  through the numpy codecs of :mod:`runtime.ros.g1_messages`: ~30 us a message instead of ~400 us
  of rclpy message objects; and ``/lowstate`` is taken by the loop itself, not by an executor
  (~0.2 ms of Python per message and a GIL hand-off at 500 Hz);
* the heap is frozen once built (:func:`freeze_heap`, before any message flows: no collection
  rescans the ~50k import-time objects, a ~50 ms GIL hold) and the GIL switch interval is 0.1 ms;
* with ``realtime`` (where permitted) every thread (executor, DDS, main) goes to SCHED_FIFO 5 and the
  publish loop runs at SCHED_FIFO 10. Promoting only the loop is not enough: a normal-priority thread
  holding the GIL, preempted by an ordinary process, stalls the real-time thread waiting for it. The
  policy thread runs at SCHED_FIFO 6 (:class:`LoopHooks`).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
import threading
import time
from typing import Any

import numpy as np
from geometry_msgs.msg import Twist
from rclpy.node import Node
from rclpy.parameter import Parameter
from std_msgs.msg import String
from unitree_hg.msg import LowCmd, LowState

from runtime.g1.crc import LowCmdPacker
from runtime.g1.lowcmd_controller import G1LowCmdController, LowStateSample
from runtime.g1.lowcmd_loop import LowCmdLoop
from runtime.g1.motors import MotorCommand
from runtime.rolling_stats import RollingStats
from runtime.ros.g1_messages import (
    CMD_VEL_TOPIC,
    CONTROL_QOS,
    LOWCMD_TOPIC,
    LOWLEVEL_QOS,
    LOWSTATE_TOPIC,
    REQUEST_TOPIC,
    STATUS_TOPIC,
    encode_json,
    lowcmd_struct_to_cdr,
    lowstate_cdr_to_struct,
    lowstate_record_crc_ok,
    parse_request,
    sample_from_lowstate_record,
    twist_to_velocity,
)

log = logging.getLogger(__name__)

STATUS_TRANSITIONS = 32  # transitions kept in each status message (the controller keeps more)
LOOP_STATS_EVERY_S = 1.0  # percentiles over the timing windows are recomputed at most this often
LEAN_NODE_OPTIONS: dict[str, Any] = {
    "start_parameter_services": False,
    "parameter_overrides": [Parameter("start_type_description_service", value=False)],
}
"""Node options of the 500 Hz nodes: no parameter / type-description services. Python executors rebuild
their wait set with every entity on each callback; these 7 services would double the cost of each
/lowstate callback. The nodes are configured from the command line and YAML, not ROS parameters."""
GIL_SWITCH_S = float(os.environ.get("G1_GIL_SWITCH_S", "0.0001"))
"""CPython's GIL switch interval in these processes: how long a busy thread (executor, policy) may keep
the publish loop waiting for the GIL. 0.1 ms instead of DeadlineLoop's 0.5 ms."""
PROCESS_PRIORITY = 5  # SCHED_FIFO of every other thread: below the loops (10), above every normal task


class GcPauses:
    """Times CPython's garbage collections (they hold the GIL: a full one is ~50 ms with this heap)."""

    def __init__(self) -> None:
        self.pauses = RollingStats(500)
        self.max_s = 0.0
        self.by_generation = [0, 0, 0]
        self._t0 = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
            return
        dt = time.perf_counter() - self._t0
        self.pauses.add(dt)
        self.max_s = max(self.max_s, dt)
        self.by_generation[min(int(info.get("generation", 0)), 2)] += 1

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_gc)

    def summary(self) -> dict[str, Any]:
        return {**self.pauses.summary_ms(), "max_ever_ms": round(self.max_s * 1e3, 3), "count": self.by_generation}


def freeze_heap() -> None:
    """Collect once, then move every object alive now out of the collector's reach (``gc.freeze``).

    Call after startup: later collections only scan what the loops allocate, so none holds the GIL
    for long (a full collection over the import heap takes ~50 ms, longer than the stale limit).
    """
    gc.collect()
    gc.freeze()


def promote_threads_realtime(priority: int = PROCESS_PRIORITY) -> int:
    """Put every thread of this process under SCHED_FIFO ``priority`` (Linux); how many were changed.

    Threads created later inherit the policy of their creator. Nothing happens where not permitted.
    """
    changed = 0
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return 0
    for tid in tids:
        try:
            if os.sched_getscheduler(tid) == os.SCHED_OTHER:
                os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(priority))
                changed += 1
        except (PermissionError, OSError, AttributeError):
            continue
    return changed


class TimedPolicy:
    """Wraps a velocity policy and times each ``step`` (the controller's policy protocol, unchanged)."""

    def __init__(self, policy: Any, window: int = 2000) -> None:
        self._policy = policy
        self.step_time = RollingStats(window)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._policy, name)

    @property
    def control_dt(self) -> float:
        return self._policy.control_dt

    @property
    def max_cmd(self) -> np.ndarray | None:
        return self._policy.max_cmd

    def reset(self) -> None:
        self._policy.reset()

    def default_targets(self) -> Any:
        return self._policy.default_targets()

    def step(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self._policy.step(*args, **kwargs)
        finally:
            self.step_time.add(time.perf_counter() - t0)


SETTLE_SAMPLES = 25
SETTLE_GAP_S = 0.01
"""The node forwards ``/lowstate`` to the controller once ``SETTLE_SAMPLES`` consecutive samples came
within ``SETTLE_GAP_S`` of each other (50 ms at 500 Hz). DDS discovery can deliver a first sample and
then nothing for ~50 ms while the match settles; the controller leaves WAIT_STATE on its first sample
and damps 50 ms later, so a still-passive robot would start in DAMPING. Before settling nothing is
published (WAIT_STATE); after it, every sample is forwarded and the stale check applies as specified."""

POLICY_PRIORITY = 6


class PolledSubscription:
    """A raw subscription read by its owner's real-time loop (non-blocking take) instead of an executor.

    Create it on a node no executor spins (:meth:`G1LowCmdNode.io_node`). At 500 Hz an executor costs
    ~0.2 ms of Python per message on its own thread plus a GIL hand-off with the loop; taking the
    pending samples at the top of each tick costs a few microseconds and no thread. The arrival time
    is the middleware's reception stamp (system clock, converted to ``time.monotonic()``), so ages
    measured from it do not depend on when the loop looked.
    """

    def __init__(self, node: Node, msg_type: Any, topic: str, qos: Any) -> None:
        self._sub = node.create_subscription(msg_type, topic, _never_called, qos, raw=True)

    @property
    def topic_name(self) -> str:
        return self._sub.topic_name

    def take(self) -> tuple[bytes, float] | None:
        """The oldest pending sample and its arrival time (monotonic clock), or None."""
        with self._sub.handle:
            taken = self._sub.handle.take_message(self._sub.msg_type, True)
        if taken is None:
            return None
        raw, info = taken
        stamp = info.get("received_timestamp") or 0
        now_mono, now_wall = time.monotonic(), time.time()
        return raw, (now_mono - max(0.0, now_wall - stamp / 1e9)) if stamp else now_mono


def _never_called(*_args: Any) -> None:  # pragma: no cover - polled subscriptions are never spun
    raise AssertionError("a polled subscription was handed to an executor")


class LoopHooks:
    """The controller as :class:`~runtime.g1.lowcmd_loop.LowCmdLoop` sees it; everything else forwards unchanged.

    * ``command``: drains ``/lowstate`` into the controller first, so each LowCmd is built from the
      freshest state on the publish thread (see :class:`PolledSubscription`).
    * ``policy_step``: on its first call the policy thread moves to SCHED_FIFO 6: below the two
      safety-critical threads (the publish loop here, the physics thread in the sim: 10), above
      everything else of the stack (executors, DDS, main: 5) and all ordinary processes. A hung or
      slow policy cannot delay the publish loop, which detects the missing output and damps; and no
      housekeeping burst at 5 delays the policy. (At 4, bursts of the threads at 5 delayed it by up
      to 35 ms: spurious timeouts; as SCHED_OTHER it waited behind the GIL and every RT thread.)
    """

    def __init__(self, controller: G1LowCmdController, drain: Any, priority: int = POLICY_PRIORITY) -> None:
        self._controller = controller
        self._drain = drain
        self._priority = priority
        self.demoted: bool | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._controller, name)

    def command(self, now: float | None = None) -> Any:
        self._drain()
        return self._controller.command(now)

    def policy_step(self, now: float | None = None) -> bool:
        if self.demoted is None:
            try:  # pid 0: the calling thread; only where it runs SCHED_FIFO already (realtime permitted)
                self.demoted = os.sched_getscheduler(0) == os.SCHED_FIFO
                if self.demoted:
                    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(self._priority))
            except (PermissionError, OSError, AttributeError):
                self.demoted = False
        return self._controller.policy_step(now)


class G1LowCmdNode(Node):
    """Runs a :class:`G1LowCmdController` on ``/lowstate`` -> ``/lowcmd`` with operator inputs and status."""

    def __init__(
        self,
        controller: G1LowCmdController,
        rate_hz: float = 500.0,
        policy_rate_hz: float | None = None,
        status_hz: float = 10.0,
        graph_hz: float = 20.0,
        realtime: bool = True,
        reject_bad_lowstate_crc: bool = False,
        stats_window: int = 2000,
        policy_timer: TimedPolicy | None = None,
        spin_s: float = 0.0004,
        gil_switch_s: float = GIL_SWITCH_S,
        settle_samples: int = SETTLE_SAMPLES,
        name: str = "runrobot_g1_lowcmd",
        **kwargs: Any,
    ) -> None:
        super().__init__(name, **{**LEAN_NODE_OPTIONS, **kwargs})
        self.controller = controller
        self.realtime = realtime
        self.gil_switch_s = gil_switch_s
        self.realtime_threads = 0
        self._name = self.get_fully_qualified_name()
        self.reject_bad_lowstate_crc = reject_bad_lowstate_crc
        self._policy_timer = policy_timer
        self._packer = LowCmdPacker()
        self._send_lock = threading.Lock()
        self._lowcmd_pub = self.create_publisher(LowCmd, LOWCMD_TOPIC, LOWLEVEL_QOS)
        self._status_pub = self.create_publisher(String, STATUS_TOPIC, CONTROL_QOS)
        self.io_node = Node(f"{name}_io", context=self.context, **LEAN_NODE_OPTIONS)  # never spun
        self._lowstate_sub = PolledSubscription(self.io_node, LowState, LOWSTATE_TOPIC, LOWLEVEL_QOS)
        self.hooks = LoopHooks(controller, self.drain_lowstate)
        self.loop = LowCmdLoop(
            self.hooks,  # type: ignore[arg-type]  # a transparent proxy of the controller
            self._send,
            rate_hz,
            policy_rate_hz,
            spin_s=spin_s,
            realtime=realtime,
        )
        for loop in (self.loop.publish_loop, self.loop.policy_loop):
            loop.period_error = RollingStats(stats_window)
        self.state_age_at_send = RollingStats(stats_window)
        self.create_subscription(Twist, CMD_VEL_TOPIC, self._on_cmd_vel, CONTROL_QOS)
        self.create_subscription(String, REQUEST_TOPIC, self._on_request, CONTROL_QOS)
        self.counters = {
            "settling_lowstates": 0,
            "lowstate_crc_errors": 0,
            "lowstates_rejected": 0,
            "malformed_lowstates": 0,
            "bad_requests": 0,
            "cmd_vel": 0,
        }
        self.last_request: dict[str, Any] | None = None
        self._last_lowstate_rx: float | None = None
        self._last_settle_rx: float | None = None
        self.settle_samples = max(1, settle_samples)
        self._settle_count = 0
        self.lowstate_settled = False
        self._loop_stats: dict[str, Any] = {}
        self._loop_stats_at = -1.0
        self._started = False
        self._published_transitions = -1
        self.create_timer(1.0 / status_hz, self.publish_status)
        self.create_timer(1.0 / graph_hz, self._check_graph)
        freeze_heap()  # before anything flows: the one full collection must not delay a LowState
        self.gc_pauses = GcPauses()

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        if self.gil_switch_s and sys.getswitchinterval() > self.gil_switch_s:
            sys.setswitchinterval(self.gil_switch_s)
        if self.realtime:
            self.realtime_threads = promote_threads_realtime()
        self._check_graph()
        self.loop.start()
        self._started = True

    def stop(self, reason: str = "shutdown") -> None:
        """Damp: the loop switches to DAMPING and sends damping for ~20 ms; one last status goes out."""
        if not self._started:
            return
        self._started = False
        self.loop.stop(reason)
        self.gc_pauses.close()
        self.publish_status()
        time.sleep(0.05)  # let DDS flush the last damping commands before the participant goes

    def destroy_node(self) -> None:
        self.io_node.destroy_node()
        super().destroy_node()

    # -- ROS callbacks -----------------------------------------------------------------------------

    def drain_lowstate(self) -> int:
        """Feed every pending ``/lowstate`` to the controller (publish-loop thread); how many were taken."""
        n = 0
        while (taken := self._lowstate_sub.take()) is not None:
            self._on_lowstate(*taken)
            n += 1
        return n

    def _on_lowstate(self, raw: bytes, now: float) -> None:
        """A serialized LowState that arrived at ``now`` (no Python message objects at 500 Hz)."""
        try:
            rec = lowstate_cdr_to_struct(raw)
        except ValueError:
            self.counters["malformed_lowstates"] += 1
            return
        if not lowstate_record_crc_ok(rec):
            self.counters["lowstate_crc_errors"] += 1
            if self.reject_bad_lowstate_crc:
                self.counters["lowstates_rejected"] += 1
                return
        sample = sample_from_lowstate_record(rec, now)
        if not self.lowstate_settled and not self._settling(sample, now):
            return
        self._last_lowstate_rx = now
        self.controller.on_lowstate(sample)

    def _settling(self, sample: LowStateSample, now: float) -> bool:
        """True once ``/lowstate`` flows steadily; until then samples are counted, not forwarded."""
        steady = self._last_settle_rx is not None and now - self._last_settle_rx <= SETTLE_GAP_S
        self._settle_count = self._settle_count + 1 if steady and not sample.non_finite() else 1
        self._last_settle_rx = now
        if self._settle_count < self.settle_samples:
            self.counters["settling_lowstates"] += 1
            return False
        self.lowstate_settled = True
        log.info("g1 lowcmd: /lowstate steady after %d samples", self.counters["settling_lowstates"] + 1)
        return True

    def _on_cmd_vel(self, msg: Twist) -> None:
        vx, vy, wz = twist_to_velocity(msg).tolist()
        self.counters["cmd_vel"] += 1
        self.controller.set_velocity_command(vx, vy, wz, source="cmd_vel")

    def _on_request(self, msg: String) -> None:
        now = time.monotonic()
        try:
            req = parse_request(msg.data)
        except ValueError as exc:
            self.counters["bad_requests"] += 1
            self.last_request = {"id": "", "trigger": msg.data[:64], "ok": False, "reason": str(exc), "t": now}
            log.warning("g1 request rejected: %s", exc)
        else:
            self._check_graph()
            res = self.controller.request(req.trigger, source="topic", now=now)
            self.last_request = {
                "id": req.id,
                "trigger": req.trigger,
                "ok": res.ok,
                "changed": res.changed,
                "state": res.state.value,
                "reason": res.reason,
                "t": now,
            }
        self.publish_status()

    def _check_graph(self) -> None:
        """Count ``/lowcmd`` publishers; publish the status at once when the state changed since the last one."""
        count = self.count_publishers(LOWCMD_TOPIC)
        self.controller.set_lowcmd_publishers(count, includes_self=True)
        if self.controller.transition_count != self._published_transitions:
            self.publish_status()  # a safety transition reaches GET /g1 within 1/graph_hz, not 1/status_hz

    # -- publish loop ------------------------------------------------------------------------------

    def _send(self, cmd: MotorCommand) -> None:
        """Pack ``cmd`` with its CRC and publish it serialized (publish-loop thread)."""
        with self._send_lock:
            self._packer.pack(cmd.mode_pr, cmd.mode_machine, cmd.as_array())
            self._lowcmd_pub.publish(lowcmd_struct_to_cdr(self._packer.words))
        rx = self._last_lowstate_rx
        if rx is not None:
            self.state_age_at_send.add(time.monotonic() - rx)

    # -- status ------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Controller status + loop timing + node counters (JSON-ready)."""
        now = time.monotonic()
        st = self.controller.status(now)
        st["transitions"] = st["transitions"][-STATUS_TRANSITIONS:]
        if now - self._loop_stats_at >= LOOP_STATS_EVERY_S or not self._started:
            self._loop_stats = self.loop.stats()
            self._loop_stats["state_age_at_send"] = self.state_age_at_send.summary_ms()
            self._loop_stats["gc_pause"] = self.gc_pauses.summary()
            if self._policy_timer is not None:
                self._loop_stats["policy_step"] = self._policy_timer.step_time.summary_ms()
            self._loop_stats_at = now
        st["loop"] = self._loop_stats
        st["node"] = {
            **self.counters,
            "pid": os.getpid(),
            "name": self._name,
            "realtime_threads": self.realtime_threads,
            "policy_thread_demoted": self.hooks.demoted,
            "lowstate_settled": self.lowstate_settled,
        }
        st["last_request"] = self.last_request
        st["running"] = self._started
        st["t"] = now
        st["wall_time"] = time.time()
        return st

    def publish_status(self) -> None:
        try:
            status = self.status()
            self._published_transitions = status["counters"]["transitions"]
            self._status_pub.publish(String(data=encode_json(status)))
        except Exception:  # a status failure must never stop the node (e.g. during shutdown)
            log.debug("g1 status publish failed", exc_info=True)

"""The G1 native lowcmd controller, ROS-free: state machine + policy + safety -> one LowCmd per call.

Threads (all methods are thread-safe; one re-entrant lock guards the state):

* ``/lowstate`` callback  -> :meth:`G1LowCmdController.on_lowstate` (state, remote buttons and sticks)
* 50 Hz policy thread     -> :meth:`G1LowCmdController.policy_step` (runs the policy in RUN; the
  inference itself runs outside the lock, so it never blocks the 500 Hz path)
* 500 Hz publish thread   -> :meth:`G1LowCmdController.command` (the LowCmd for the current state)
* operator / API          -> :meth:`request`, :meth:`set_velocity_command`, :meth:`set_lowcmd_publishers`

All times are on one monotonic clock (``clock``, default :func:`time.monotonic`); every method takes
an optional ``now`` so tests can drive a fake clock. ``LowStateSample.received_at`` must use it too.

Commands per state (29 motors enabled, ``mode = 1``; slots 29..34 ``mode = 0``):

=================  ===========================================================================
WAIT_STATE         None: nothing is published before the first ``/lowstate``
ZERO_TORQUE        q = dq = tau = kp = kd = 0
MOVE_TO_DEFAULT    q = (1 - a) q_entry + a q_default, a = elapsed / 2 s; the policy's default gains
HOLD_DEFAULT       q_default with the default gains
RUN                the latest policy targets (clipped to the joint ranges); default until the first
DAMPING            kp = 0, kd = 8
=================  ===========================================================================

``mode_machine`` is copied from the latest LowState. Safety (see :mod:`runtime.g1.safety`) is
checked on every :meth:`command` call as well as when inputs arrive, so a fault reaches DAMPING
within one control period. The velocity command is zeroed on entering and on leaving RUN.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

from runtime.g1.motors import DAMPING_KD, NUM_MOTORS, JointLimits, MotorCommand, load_joint_limits
from runtime.g1.remote import RemoteDecoder, stick_velocity
from runtime.g1.safety import SafetyConfig, SafetyEvent, SafetyKind, SafetyMonitor, non_finite
from runtime.g1.state_machine import OPERATOR_TRIGGERS, G1State, G1StateMachine, TransitionResult, Trigger

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MAX_CMD",
    "G1ControllerConfig",
    "G1LowCmdController",
    "LowStateSample",
    "PolicyTargets",
    "VelocityPolicy",
]

DEFAULT_MAX_CMD = (0.8, 0.5, 1.57)
"""``max_cmd`` (vx m/s, vy m/s, wz rad/s) of Unitree's G1 deploy config, used when the policy has none."""

_DRIVEN = frozenset({G1State.MOVE_TO_DEFAULT, G1State.HOLD_DEFAULT, G1State.RUN})
_WATCHED = _DRIVEN | {G1State.ZERO_TORQUE}  # states whose faults send the robot to DAMPING


class PolicyTargets(Protocol):
    """29-motor PD targets (``runtime.policies.unitree_velocity.MotorTargets`` fits)."""

    q: np.ndarray
    kp: np.ndarray
    kd: np.ndarray


@runtime_checkable
class VelocityPolicy(Protocol):
    """What the controller needs of a velocity policy (``UnitreeVelocityPolicy`` fits).

    ``step`` gets the 29-motor ``q``/``dq`` (motor order), the IMU quaternion (w, x, y, z) and gyro,
    the velocity command (vx, vy, wz) and ``t``, the time since RUN started; it may raise (e.g.
    ``NonFiniteError``), which the controller treats as a fault. ``max_cmd`` may be None.
    """

    @property
    def control_dt(self) -> float: ...

    @property
    def max_cmd(self) -> np.ndarray | None: ...

    def reset(self) -> None: ...

    def step(
        self, q: np.ndarray, dq: np.ndarray, quat: np.ndarray, gyro: np.ndarray, command: np.ndarray, t: float
    ) -> PolicyTargets: ...

    def default_targets(self) -> PolicyTargets: ...


def _vec(value: ArrayLike | None, size: int, name: str, at_least: bool = False) -> np.ndarray:
    if value is None:
        return np.zeros(size)
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    if arr.size < size or (not at_least and arr.size != size):
        raise ValueError(f"{name} must have {'at least ' if at_least else ''}{size} values, got {arr.size}")
    return arr[:size].copy()


@dataclass(frozen=True, kw_only=True)
class LowStateSample:
    """One ``/lowstate`` (``unitree_hg`` LowState): motors (first 29 kept), IMU, remote, arrival time.

    ``received_at`` is on the controller's clock (``time.monotonic()`` by default).
    """

    q: np.ndarray
    dq: np.ndarray
    quat: np.ndarray
    gyro: np.ndarray
    received_at: float
    tau: np.ndarray | None = None
    acc: np.ndarray | None = None
    tick: int = 0
    mode_machine: int = 0
    mode_pr: int = 0
    wireless_remote: bytes = b""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "q", _vec(self.q, NUM_MOTORS, "q", at_least=True))
        set_(self, "dq", _vec(self.dq, NUM_MOTORS, "dq", at_least=True))
        set_(self, "tau", _vec(self.tau, NUM_MOTORS, "tau", at_least=True))
        set_(self, "quat", _vec(self.quat, 4, "quat (w, x, y, z)"))
        set_(self, "gyro", _vec(self.gyro, 3, "gyro"))
        set_(self, "acc", _vec(self.acc, 3, "acc"))
        set_(self, "wireless_remote", bytes(self.wireless_remote))

    @classmethod
    def from_msg(cls, msg: Any, received_at: float) -> LowStateSample:
        """From a ``unitree_hg.msg.LowState`` (duck-typed; no ROS import)."""
        motors = msg.motor_state[:NUM_MOTORS]
        imu = msg.imu_state
        return cls(
            q=[m.q for m in motors],
            dq=[m.dq for m in motors],
            tau=[m.tau_est for m in motors],
            quat=imu.quaternion,
            gyro=imu.gyroscope,
            acc=imu.accelerometer,
            tick=int(msg.tick),
            mode_machine=int(msg.mode_machine),
            mode_pr=int(msg.mode_pr),
            wireless_remote=bytes(bytearray(msg.wireless_remote)),
            received_at=received_at,
        )

    def non_finite(self) -> list[str]:
        return non_finite(q=self.q, dq=self.dq, tau=self.tau, quat=self.quat, gyro=self.gyro, acc=self.acc)


@dataclass(frozen=True)
class G1ControllerConfig:
    """Controller settings; the defaults follow Unitree's G1 deploy examples and the issue.

    ``move_to_default_s``: MOVE_TO_DEFAULT duration. ``damping_kd``: kd in DAMPING.
    ``lowstate_timeout_s``: older ``/lowstate`` -> DAMPING. ``policy_missed_periods``: policy periods
    without output before DAMPING (the period is ``policy.control_dt``). ``default_max_cmd``: used when
    the policy has no ``max_cmd``. ``mode_pr``: LowCmd ``mode_pr`` (0 = ankle pitch/roll).
    ``use_remote``: act on ``wireless_remote``. ``remote_deadzone``: stick values treated as 0.
    ``joint_limit_margin``: rad taken off each end of the MJCF ranges. ``history_len``: transitions kept.
    """

    move_to_default_s: float = 2.0
    damping_kd: float = DAMPING_KD
    lowstate_timeout_s: float = 0.05
    policy_missed_periods: int = 2
    default_max_cmd: tuple[float, float, float] = DEFAULT_MAX_CMD
    mode_pr: int = 0
    use_remote: bool = True
    remote_deadzone: float = 0.05
    joint_limit_margin: float = 0.0
    history_len: int = 128


class G1LowCmdController:
    """State machine, policy and safety for the G1; produces the LowCmd motor block on demand."""

    def __init__(
        self,
        policy: VelocityPolicy,
        limits: JointLimits | None = None,
        config: G1ControllerConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.config = cfg = config or G1ControllerConfig()
        self._clock = clock
        self._lock = threading.RLock()
        self._policy_lock = threading.Lock()
        self.limits = (limits if limits is not None else load_joint_limits()).shrunk(cfg.joint_limit_margin)
        self.policy_period_s = float(policy.control_dt)
        self.safety = SafetyMonitor(
            self.limits,
            SafetyConfig(cfg.lowstate_timeout_s, self.policy_period_s, cfg.policy_missed_periods),
        )
        self._sm = G1StateMachine(now=clock(), history_len=cfg.history_len)
        self._remote = RemoteDecoder(cfg.remote_deadzone)

        default = policy.default_targets()
        q, kp, kd = (_vec(getattr(default, k), NUM_MOTORS, f"default {k}") for k in ("q", "kp", "kd"))
        bad = non_finite(q=q, kp=kp, kd=kd)
        if bad:
            raise ValueError(f"the policy's default targets hold NaN/inf: {bad}")
        self._default_q = self.safety.clip_targets(q)
        self._default_kp, self._default_kd = kp, kd
        max_cmd = policy.max_cmd
        self.max_cmd = np.abs(_vec(cfg.default_max_cmd if max_cmd is None else max_cmd, 3, "max_cmd"))

        self._lowstate: LowStateSample | None = None
        self._lowstate_finite = False
        self._velocity = np.zeros(3)
        self._velocity_source = ""
        self._velocity_at: float | None = None
        self._move_from = self._default_q.copy()
        self._move_t0 = 0.0
        self._run_epoch = 0
        self._run_t0 = 0.0
        self._targets: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._last_output_at = 0.0
        self._policy_epoch_seen = -1
        self.counters: dict[str, int] = {
            "lowstates": 0,
            "commands": 0,
            "policy_steps": 0,
            "missed_policy_periods": 0,
            "nonfinite_lowstates": 0,
            "remote_errors": 0,
        }

    # -- inputs ------------------------------------------------------------------------------------

    @property
    def state(self) -> G1State:
        return self._sm.state

    @property
    def transition_count(self) -> int:
        """Transitions so far (grows on every state change, whatever its source)."""
        return self._sm.transitions

    @property
    def clock(self) -> Callable[[], float]:
        """The clock all times are on."""
        return self._clock

    def on_lowstate(self, sample: LowStateSample) -> None:
        """A new ``/lowstate``: stored; first one leaves WAIT_STATE; NaN/inf -> DAMPING; remote handled."""
        now = sample.received_at
        with self._lock:
            self._lowstate = sample
            self.counters["lowstates"] += 1
            bad = sample.non_finite()
            self._lowstate_finite = not bad
            if bad:
                self.counters["nonfinite_lowstates"] += 1
                self._fault(now, SafetyKind.NON_FINITE, f"/lowstate {', '.join(bad)} (tick {sample.tick})", True)
                return
            if self._sm.state is G1State.WAIT_STATE:
                self._fire(Trigger.LOWSTATE, now, "lowstate", f"first /lowstate (tick {sample.tick})")
            if self.config.use_remote and sample.wireless_remote:
                self._handle_remote(sample.wireless_remote, now)

    def _handle_remote(self, data: bytes, now: float) -> None:
        try:
            frame = self._remote.update(data)
        except ValueError as exc:
            self.counters["remote_errors"] += 1
            log.debug("bad wireless_remote: %s", exc)
            return
        for trig in frame.triggers():
            if trig == Trigger.START and self._sm.state is not G1State.ZERO_TORQUE:
                trig = Trigger.DEFAULT
            self._request(Trigger(trig), "remote", now, "remote button")
        if frame.sticks_active or frame.sticks_released:
            self._set_velocity(stick_velocity(frame.state, self.max_cmd, self._remote.deadzone), "remote", now)

    def set_velocity_command(
        self, vx: float, vy: float, wz: float, source: str = "api", now: float | None = None
    ) -> np.ndarray:
        """Set (vx, vy, wz), clipped to +-``max_cmd``; returns the stored command. NaN/inf -> DAMPING."""
        with self._lock:
            return self._set_velocity(np.array([vx, vy, wz], dtype=np.float64), source, self._now(now))

    def _set_velocity(self, v: np.ndarray, source: str, now: float) -> np.ndarray:
        if not np.all(np.isfinite(v)):
            self._fault(now, SafetyKind.NON_FINITE, f"velocity command {v.tolist()} from {source}")
            return self._velocity.copy()
        self._velocity = np.clip(v, -self.max_cmd, self.max_cmd)
        self._velocity_source, self._velocity_at = source, now
        return self._velocity.copy()

    def set_lowcmd_publishers(self, count: int, includes_self: bool = True, now: float | None = None) -> int:
        """The ``/lowcmd`` publisher count from the ROS graph; another one while driving -> DAMPING.

        Returns the number of other publishers. While there are any, ZERO_TORQUE/DAMPING cannot be left.
        """
        with self._lock:
            others = self.safety.set_lowcmd_publishers(count, includes_self)
            if others and self._sm.state in _DRIVEN:
                self._fault(self._now(now), SafetyKind.PUBLISHER_CONFLICT, f"{others} other publisher(s) on /lowcmd")
            return others

    def request(
        self, trigger: Trigger | str, source: str = "api", now: float | None = None, reason: str = ""
    ) -> TransitionResult:
        """An operator trigger: ``start``, ``default``, ``run`` or ``damp``. Refusals carry a reason."""
        with self._lock:
            now = self._now(now)
            try:
                trig = Trigger(trigger)
            except ValueError:
                trig = None
            if trig not in OPERATOR_TRIGGERS:
                ops = sorted(t.value for t in OPERATOR_TRIGGERS)
                return self._sm.refuse(str(trigger), now, source, f"{trigger!r} is not an operator trigger ({ops})")
            return self._request(trig, source, now, reason)

    def _request(self, trig: Trigger, source: str, now: float, reason: str) -> TransitionResult:
        nxt, _ = self._sm.check(trig)
        if nxt in _DRIVEN:
            blocker = self.safety.start_blocker(
                now, None if self._lowstate is None else self._lowstate.received_at, self._lowstate_finite
            )
            if blocker:
                return self._sm.refuse(trig.value, now, source, f"cannot enter {nxt.value}: {blocker}")
        return self._fire(trig, now, source, reason)

    def shutdown(self, reason: str = "shutdown", now: float | None = None) -> MotorCommand:
        """Switch to DAMPING (from any state) and return the damping command to send."""
        with self._lock:
            now = self._now(now)
            if self._sm.state is not G1State.DAMPING:
                self.safety.record(now, SafetyKind.SHUTDOWN, reason, self._sm.state.value)
                self._fire(Trigger.DAMP, now, "shutdown", reason)
            return self._damping()

    # -- policy thread -----------------------------------------------------------------------------

    def policy_step(self, now: float | None = None) -> bool:
        """Run the policy once if in RUN (call at the policy rate); True when new targets were stored."""
        with self._policy_lock:
            with self._lock:
                now = self._now(now)
                ls = self._lowstate
                if self._sm.state is not G1State.RUN or ls is None or not self._lowstate_finite:
                    return False
                epoch, t = self._run_epoch, now - self._run_t0
                command = self._velocity.copy()
            if epoch != self._policy_epoch_seen:
                self.policy.reset()
                self._policy_epoch_seen = epoch
            try:
                out = self.policy.step(ls.q, ls.dq, ls.quat, ls.gyro, command, t)
                q, kp, kd = (_vec(getattr(out, k), NUM_MOTORS, f"policy {k}") for k in ("q", "kp", "kd"))
            except Exception as exc:
                kind = SafetyKind.NON_FINITE if type(exc).__name__ == "NonFiniteError" else SafetyKind.POLICY_ERROR
                with self._lock:
                    if epoch == self._run_epoch:
                        self._fault(now, kind, f"policy step: {type(exc).__name__}: {exc}")
                return False
            with self._lock:
                if epoch != self._run_epoch or self._sm.state is not G1State.RUN:
                    return False  # RUN ended while the policy ran: drop its output
                bad = non_finite(q=q, kp=kp, kd=kd)
                if bad:
                    self._fault(now, SafetyKind.NON_FINITE, f"policy output {', '.join(bad)}")
                    return False
                gap = now - (self._last_output_at if self._targets is not None else self._run_t0)
                self.counters["missed_policy_periods"] += self.safety.missed_periods(gap)
                self._targets = (self.safety.clip_targets(q), kp, kd)
                self._last_output_at = now
                self.counters["policy_steps"] += 1
                return True

    # -- publish thread ----------------------------------------------------------------------------

    def command(self, now: float | None = None) -> MotorCommand | None:
        """The LowCmd motor block for now (None in WAIT_STATE: publish nothing). Checks faults first."""
        with self._lock:
            now = self._now(now)
            self.counters["commands"] += 1
            if self._sm.state in _WATCHED:
                self._check_faults(now)
            cmd = self._build(now)
            if cmd is not None and not cmd.is_finite():
                self._fault(now, SafetyKind.NON_FINITE, f"motor command in {self._sm.state.value}")
                cmd = self._damping()
            return cmd

    def _check_faults(self, now: float) -> None:
        ls = self._lowstate
        detail = self.safety.lowstate_fault(now, None if ls is None else ls.received_at)
        if detail:
            self._fault(now, SafetyKind.STALE_LOWSTATE, detail)
            return
        if self._sm.state is G1State.RUN:
            detail = self.safety.policy_fault(now, self._last_output_at)
            if detail:
                self._fault(now, SafetyKind.POLICY_TIMEOUT, detail)

    def _build(self, now: float) -> MotorCommand | None:
        st = self._sm.state
        if st is G1State.WAIT_STATE:
            return None
        mm, mp = self._mode_machine(), self.config.mode_pr
        if st is G1State.ZERO_TORQUE:
            return MotorCommand.zero_torque(mode_pr=mp, mode_machine=mm)
        if st is G1State.DAMPING:
            return self._damping()
        if st is G1State.MOVE_TO_DEFAULT:
            a = (now - self._move_t0) / self.config.move_to_default_s if self.config.move_to_default_s > 0 else 1.0
            if a >= 1.0:
                self._fire(
                    Trigger.ARRIVED, now, "interpolation", f"default pose reached after {now - self._move_t0:.3f} s"
                )
                return self._hold()
            a = max(a, 0.0)
            q = (1.0 - a) * self._move_from + a * self._default_q
            return MotorCommand.from_targets(q, self._default_kp, self._default_kd, mode_pr=mp, mode_machine=mm)
        if st is G1State.RUN and self._targets is not None:
            q, kp, kd = self._targets
            return MotorCommand.from_targets(q, kp, kd, mode_pr=mp, mode_machine=mm)
        return self._hold()  # HOLD_DEFAULT, or RUN before the first policy output

    def _hold(self) -> MotorCommand:
        return MotorCommand.from_targets(
            self._default_q,
            self._default_kp,
            self._default_kd,
            mode_pr=self.config.mode_pr,
            mode_machine=self._mode_machine(),
        )

    def _damping(self) -> MotorCommand:
        return MotorCommand.damping(
            self.config.damping_kd, mode_pr=self.config.mode_pr, mode_machine=self._mode_machine()
        )

    # -- internals (lock held) ---------------------------------------------------------------------

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else now

    def _mode_machine(self) -> int:
        return 0 if self._lowstate is None else self._lowstate.mode_machine

    def _fault(self, now: float, kind: SafetyKind, detail: str, any_state: bool = False) -> None:
        """Record a fault and damp. Ignored in DAMPING (already safe) and, unless ``any_state``, WAIT_STATE."""
        st = self._sm.state
        if st is G1State.DAMPING or (st is G1State.WAIT_STATE and not any_state):
            return
        event = self.safety.record(now, kind, detail, st.value)
        self._fire(Trigger.DAMP, now, "safety", f"{event.kind.value}: {detail}")

    def _fire(self, trig: Trigger, now: float, source: str, reason: str) -> TransitionResult:
        prev = self._sm.state
        res = self._sm.fire(trig, now, source, reason)
        if res.changed:
            self._entered(prev, res.state, now)
        return res

    def _entered(self, prev: G1State, state: G1State, now: float) -> None:
        if prev is G1State.RUN or state is G1State.RUN:
            self._velocity = np.zeros(3)
            self._velocity_source, self._velocity_at = f"reset on {prev.value} -> {state.value}", now
            self._targets = None
        if state is G1State.MOVE_TO_DEFAULT:
            start = self._lowstate.q if self._lowstate is not None else self._default_q
            self._move_from = self.safety.clip_targets(start)
            self._move_t0 = now
        elif state is G1State.RUN:
            self._run_epoch += 1
            self._run_t0 = now
            self._last_output_at = now

    # -- status ------------------------------------------------------------------------------------

    def history(self) -> list[dict[str, object]]:
        with self._lock:
            return [t.as_dict() for t in self._sm.history()]

    @property
    def last_safety_event(self) -> SafetyEvent | None:
        return self.safety.last_event

    def status(self, now: float | None = None) -> dict[str, Any]:
        """A JSON-ready snapshot for ``GET /g1``."""
        with self._lock:
            now = self._now(now)
            ls = self._lowstate
            ev = self.safety.last_event
            return {
                "state": self._sm.state.value,
                "state_since": self._sm.entered_at,
                "transitions": [t.as_dict() for t in self._sm.history()],
                "last_refusal": self._sm.last_refusal,
                "last_safety_event": None if ev is None else ev.as_dict(),
                "safety_events": [e.as_dict() for e in self.safety.events()],
                "counters": {
                    **self.counters,
                    **self.safety.counters,
                    "transitions": self._sm.transitions,
                    "refusals": self._sm.refusals,
                },
                "velocity_command": self._velocity.tolist(),
                "velocity_source": self._velocity_source,
                "max_cmd": self.max_cmd.tolist(),
                "lowstate_age_s": None if ls is None else now - ls.received_at,
                "lowstate_tick": None if ls is None else ls.tick,
                "mode_machine": self._mode_machine(),
                "other_lowcmd_publishers": self.safety.other_publishers,
                "policy_period_s": self.policy_period_s,
                "policy_output_age_s": (now - self._last_output_at) if self._targets is not None else None,
            }

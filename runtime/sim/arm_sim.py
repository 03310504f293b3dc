"""The simulated SO-101: joint targets in, joint state and camera images out.

Physics runs either by hand (``step``) or in real time on its own thread (``start``, a
:class:`runtime.sim.realtime.RealTimeStepper`).
All access to the physics state goes through one lock; rendering works on a snapshot
of the joint positions on the renderer's own thread, so it never blocks physics for
longer than a copy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import mujoco
import numpy as np

from runtime.robots import NonFiniteJointError, RobotProfile, load_robot_profile
from runtime.rolling_stats import RollingStats
from runtime.sim.gl_backend import select_gl_backend
from runtime.sim.realtime import RealTimeSim, RealTimeStepper
from runtime.sim.renderer import SceneRenderer
from runtime.sim.so101_scene import CUBE_BODY, SceneLayout, build_so101_model

DEFAULT_CAMERAS: dict[str, tuple[int, int]] = {"front": (224, 224)}
# Arm raised above the table with the gripper pointing down and slightly open (radians, profile order).
HOME_POSE = (0.0, -0.6, 0.5, 1.05, 0.0, 0.3)
_LIMIT_TOLERANCE = 1e-3


class ArmSim(RealTimeSim):
    """MuJoCo SO-101 on a table with a cube; joint vectors are radians in profile order.

    ``cameras`` maps camera names (``front``, ``wrist``) to image (height, width).
    """

    def __init__(
        self,
        profile: str | RobotProfile = "so101",
        cameras: Mapping[str, tuple[int, int]] | None = None,
        decimate: bool = True,
        cache_dir: Path | str | None = None,
        home: Sequence[float] = HOME_POSE,
        layout: SceneLayout | None = None,
    ) -> None:
        self.profile = profile if isinstance(profile, RobotProfile) else load_robot_profile(profile)
        self.cameras = dict(DEFAULT_CAMERAS if cameras is None else cameras)
        self.decimated = decimate
        self.layout = layout or SceneLayout()
        self.model = build_so101_model(self.cameras, decimate, cache_dir=cache_dir, layout=self.layout)
        self.data = mujoco.MjData(self.model)
        self.lower = np.array([j.lower for j in self.profile.joints])
        self.upper = np.array([j.upper for j in self.profile.joints])
        self._bind_joints()
        self.home = self._check(home, "home pose")
        if ((self.home < self.lower) | (self.home > self.upper)).any():
            raise ValueError(f"home pose {self.home.tolist()} is outside the joint limits")
        self._cube_qadr = int(self.model.jnt_qposadr[self.model.joint(CUBE_BODY).id])
        self._lock = threading.Lock()
        self._targets = self.home.copy()
        self.reset()

        self.steps = 0
        self.step_time = RollingStats()
        # Event.wait to each deadline (no spinning), and the interpreter's switch interval left alone.
        self._realtime = RealTimeStepper(
            float(self.model.opt.timestep),
            self._advance,
            lambda: (self.steps, float(self.data.time)),
            name="sim-physics",
            spin_s=0.0,
            gil_switch_interval=None,
        )
        self.gl_backend = select_gl_backend()
        self._renderer = SceneRenderer(self.model, self.cameras) if self.cameras else None

    def _bind_joints(self) -> None:
        m = self.model
        joint_ids, actuator_ids = [], []
        for spec in self.profile.joints:
            jid = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, spec.name)
            if jid < 0:
                raise ValueError(f"profile {self.profile.name}: joint {spec.name!r} is not in the sim model")
            lo, hi = m.jnt_range[jid]
            if abs(lo - spec.lower) > _LIMIT_TOLERANCE or abs(hi - spec.upper) > _LIMIT_TOLERANCE:
                raise ValueError(f"joint {spec.name}: model range [{lo}, {hi}] != profile [{spec.lower}, {spec.upper}]")
            act = [a for a in range(m.nu) if m.actuator_trnid[a, 0] == jid]
            if len(act) != 1:
                raise ValueError(f"joint {spec.name!r} needs exactly one position actuator, found {len(act)}")
            joint_ids.append(jid)
            actuator_ids.append(act[0])
        self._qadr = m.jnt_qposadr[joint_ids].copy()
        self._dofadr = m.jnt_dofadr[joint_ids].copy()
        self._act = np.array(actuator_ids)

    def _check(self, values: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape != (self.profile.dof,):
            names = self.profile.joint_names
            raise ValueError(f"{what}: expected {self.profile.dof} values for {names}, got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise NonFiniteJointError(f"{what}: non-finite value (NaN/inf) in {arr.tolist()}")
        return arr

    # --- state and commands -------------------------------------------------------------

    @property
    def joint_names(self) -> list[str]:
        return self.profile.joint_names

    @property
    def sim_time(self) -> float:
        return float(self.data.time)

    def joint_positions(self) -> np.ndarray:
        """Joint angles in radians, profile order."""
        with self._lock:
            return self.data.qpos[self._qadr].copy()

    def joint_velocities(self) -> np.ndarray:
        """Joint velocities in rad/s, profile order."""
        with self._lock:
            return self.data.qvel[self._dofadr].copy()

    def targets(self) -> np.ndarray:
        """The current position targets (radians, after clipping)."""
        with self._lock:
            return self._targets.copy()

    def set_targets(self, radians: Sequence[float] | np.ndarray) -> np.ndarray:
        """Command joint position targets; values are clipped to the limits. Returns what was applied."""
        clipped = np.clip(self._check(radians, "joint targets"), self.lower, self.upper)
        with self._lock:
            self._targets = clipped
            self.data.ctrl[self._act] = clipped
        return clipped.copy()

    def cube_position(self) -> np.ndarray:
        """World position of the cube's centre (metres)."""
        with self._lock:
            return self.data.qpos[self._cube_qadr : self._cube_qadr + 3].copy()

    def reset(self) -> None:
        """Arm at home with matching targets, cube back at its start, time zero."""
        with self._lock:
            mujoco.mj_resetData(self.model, self.data)
            self.data.qpos[self._qadr] = self.home
            self.data.ctrl[self._act] = self.home
            self._targets = self.home.copy()
            cube = self.data.qpos[self._cube_qadr : self._cube_qadr + 7]
            cube[:] = [*self.layout.cube_xy, self.layout.table_height + self.layout.cube_half_size, 1, 0, 0, 0]
            mujoco.mj_forward(self.model, self.data)

    def _advance(self, n: int) -> None:
        with self._lock:
            start = time.perf_counter()
            mujoco.mj_step(self.model, self.data, n)
            elapsed = time.perf_counter() - start
        self.step_time.add(elapsed / n)
        self.steps += n

    # --- rendering ----------------------------------------------------------------------

    def render(self, camera: str = "front") -> np.ndarray:
        """An (H, W, 3) uint8 RGB image of the current state; safe while physics runs."""
        if self._renderer is None:
            raise RuntimeError("this ArmSim was built without cameras")
        with self._lock:
            qpos = self.data.qpos.copy()
        return self._renderer.render(camera, qpos)

    def render_all(self) -> dict[str, np.ndarray]:
        """One image per camera, all of the same physics instant."""
        if self._renderer is None:
            return {}
        with self._lock:
            qpos = self.data.qpos.copy()
        return {cam: self._renderer.render(cam, qpos) for cam in self.cameras}

    # --- real time ----------------------------------------------------------------------

    def start(self) -> None:
        """Step physics on its own thread, keeping sim time in step with the wall clock."""
        self._realtime.start()

    # --- figures ------------------------------------------------------------------------

    def stats(self) -> dict:
        """Physics steps/s and real-time factor (last ~2 s of the runner) and render ms per camera."""
        step_ms = self.step_time.summary_ms()
        render = {}
        if self._renderer is not None:
            for cam, (h, w) in self.cameras.items():
                timing = self._renderer.frame_time[cam]
                render[cam] = {"size": f"{w}x{h}", "frames": timing.count, **timing.summary_ms()}
        return {
            "running": self.running,
            "sim_time_s": round(self.sim_time, 4),
            "timestep_s": float(self.model.opt.timestep),
            "physics_steps": self.steps,
            **self._realtime.rate_stats(),
            "physics_step_ms": {k: step_ms[k] for k in ("p50_ms", "p99_ms")},
            "render_ms": render,
            "gl_backend": self.gl_backend,
            "mesh_faces": int(self.model.mesh_facenum.sum()),
            "decimated": self.decimated,
        }

    def reset_stats(self) -> None:
        """Forget physics and render timings (e.g. after warm-up)."""
        self.step_time.clear()
        self._realtime.reset_stats()
        if self._renderer is not None:
            for timing in self._renderer.frame_time.values():
                timing.clear()

    def startup_report(self, frames: int = 10) -> str:
        """One line on physics rate and render time per frame; renders ``frames`` per camera if none yet."""
        if not self.running and self.step_time.count == 0:
            scratch = mujoco.MjData(self.model)
            mujoco.mj_copyData(scratch, self.model, self.data)
            start = time.perf_counter()
            mujoco.mj_step(self.model, scratch, 200)
            self.step_time.add((time.perf_counter() - start) / 200)
        if self._renderer is not None:
            for cam in self.cameras:
                timing = self._renderer.frame_time[cam]
                if timing.count == 0:  # the first frame pays one-off GL costs: keep it out
                    self.render(cam)
                    timing.clear()
                for _ in range(max(0, frames - timing.count)):
                    self.render(cam)
        s = self.stats()
        dt = s["timestep_s"]
        step_ms = s["physics_step_ms"]["p50_ms"] or 0.0
        physics = f"physics dt {dt * 1e3:.1f} ms ({1 / dt:.0f} steps/s real time), {step_ms:.3f} ms/step"
        if step_ms:
            physics += f" (~{1e3 / step_ms:.0f} steps/s max)"
        if s["physics_steps_per_s"] is not None:
            physics += f", running at {s['physics_steps_per_s']:.0f} steps/s, RTF {s['real_time_factor']:.2f}"
        cams = [
            f"{cam} {r['size']} {r['p50_ms']:.1f} ms p50 / {r['p99_ms']:.1f} ms p99"
            for cam, r in s["render_ms"].items()
            if r["p50_ms"] is not None
        ]
        meshes = f"{s['mesh_faces']} mesh faces{' (decimated)' if self.decimated else ''}"
        render = f"render {', '.join(cams)}" if cams else "no cameras"
        return f"sim {self.profile.name}: {physics}; {render} per frame; {meshes}, GL {s['gl_backend']}"

    # --- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        """Stop physics and free the GL contexts."""
        self.stop()
        if self._renderer is not None:
            self._renderer.close()

    def __enter__(self) -> ArmSim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

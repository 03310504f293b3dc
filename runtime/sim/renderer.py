"""Offscreen rendering of named cameras on a dedicated thread.

An OpenGL context can be current on only one thread at a time, so every GL call
(context creation, rendering, teardown) happens on one worker thread; ``render``
may be called from any thread and waits for its frame.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future

import mujoco
import numpy as np

from runtime.rolling_stats import RollingStats
from runtime.sim.gl_backend import render_setup_hint

_STOP = object()


class RenderSetupError(RuntimeError):
    """No offscreen OpenGL context could be created."""


class SceneRenderer:
    """Renders cameras of ``model`` at fixed sizes from joint positions (``qpos``) snapshots."""

    def __init__(self, model: mujoco.MjModel, cameras: Mapping[str, tuple[int, int]]) -> None:
        for name in cameras:
            if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, name) < 0:
                raise ValueError(f"unknown camera {name!r}")
        self.model = model
        self.cameras = {name: (int(h), int(w)) for name, (h, w) in cameras.items()}
        self.frame_time = {name: RollingStats() for name in self.cameras}
        self._data = mujoco.MjData(model)
        self._option = mujoco.MjvOption()  # defaults: collision geoms (group 3) stay hidden
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._ready: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, name="sim-render", daemon=True)
        self._thread.start()
        try:
            self._ready.result()
        except Exception as exc:
            raise RenderSetupError(f"{render_setup_hint()}: {exc}") from exc

    def render(self, camera: str, qpos: np.ndarray, timeout: float | None = 30.0) -> np.ndarray:
        """An (H, W, 3) uint8 RGB image of ``camera`` with the model posed at ``qpos``."""
        if camera not in self.cameras:
            raise ValueError(f"unknown camera {camera!r}; rendering {sorted(self.cameras)}")
        if not self._thread.is_alive():
            raise RuntimeError("renderer is closed")
        done: Future[np.ndarray] = Future()
        self._requests.put((camera, np.array(qpos, dtype=np.float64), done))
        return done.result(timeout)

    def close(self) -> None:
        """Free the GL contexts and stop the worker."""
        if self._thread.is_alive():
            self._requests.put(_STOP)
            self._thread.join(10.0)

    def _run(self) -> None:
        renderers: dict[str, mujoco.Renderer] = {}
        try:
            for name, (height, width) in self.cameras.items():
                renderer = mujoco.Renderer(self.model, height, width)
                # Shadows and reflections cost several times the frame in software GL.
                renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
                renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
                renderers[name] = renderer
        except Exception as exc:
            self._close_all(renderers)
            self._ready.set_exception(exc)
            return
        self._ready.set_result(None)
        while (request := self._requests.get()) is not _STOP:
            camera, qpos, done = request
            try:
                start = time.perf_counter()
                self._data.qpos[:] = qpos
                mujoco.mj_kinematics(self.model, self._data)
                mujoco.mj_camlight(self.model, self._data)
                renderers[camera].update_scene(self._data, camera, scene_option=self._option)
                image = renderers[camera].render()
                self.frame_time[camera].add(time.perf_counter() - start)
                done.set_result(image)
            except Exception as exc:
                done.set_exception(exc)
        self._close_all(renderers)
        while True:  # fail requests that raced with close()
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                break
            if request is not _STOP:
                request[2].set_exception(RuntimeError("renderer is closed"))

    @staticmethod
    def _close_all(renderers: Mapping[str, mujoco.Renderer]) -> None:
        for renderer in renderers.values():
            renderer.close()

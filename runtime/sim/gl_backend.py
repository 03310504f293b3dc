"""Choose MuJoCo's offscreen OpenGL backend before ``mujoco`` is imported.

MuJoCo reads ``MUJOCO_GL`` once, at import, and PyOpenGL cannot switch platforms
afterwards, so the EGL -> OSMesa fallback is decided by probing each backend in a
short-lived subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys

_PROBE = "from mujoco.{0} import GLContext; c = GLContext(8, 8); c.make_current(); c.free()"
_FALLBACK_ORDER = ("egl", "osmesa")


def _backend_works(backend: str, timeout_s: float = 60.0) -> bool:
    env = {**os.environ, "MUJOCO_GL": backend}
    env.pop("PYOPENGL_PLATFORM", None)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE.format(backend)], env=env, capture_output=True, timeout=timeout_s
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def select_gl_backend() -> str:
    """Set ``MUJOCO_GL`` if unset: ``egl``, else ``osmesa`` when EGL cannot create a context.

    Returns the backend in force. An explicit ``MUJOCO_GL`` is kept as is; if mujoco was
    already imported its choice is final and is reported unchanged.
    """
    current = os.environ.get("MUJOCO_GL", "").strip().lower()
    if current or "mujoco" in sys.modules:
        return current or "default"
    for backend in _FALLBACK_ORDER:
        if _backend_works(backend):
            os.environ["MUJOCO_GL"] = backend
            return backend
    os.environ["MUJOCO_GL"] = _FALLBACK_ORDER[0]  # the renderer will fail with a clear error
    return _FALLBACK_ORDER[0]


def render_setup_hint() -> str:
    """What to try when no offscreen GL context can be created."""
    return (
        f"offscreen rendering failed with MUJOCO_GL={os.environ.get('MUJOCO_GL', '')!r}; install EGL "
        "(apt-get install libegl1 libgl1-mesa-dri) or OSMesa (apt-get install libosmesa6) and/or set "
        "MUJOCO_GL=egl|osmesa before starting"
    )

"""MuJoCo simulation of the SO-101 arm on a table with a cube, rendered offscreen.

``select_gl_backend`` runs first: MuJoCo reads ``MUJOCO_GL`` when it is imported.
"""

from runtime.sim.gl_backend import select_gl_backend

GL_BACKEND = select_gl_backend()

from runtime.sim.arm_sim import HOME_POSE, ArmSim  # noqa: E402
from runtime.sim.so101_scene import (  # noqa: E402
    ASSET_INSTALL,
    MissingSimAssetsError,
    SceneLayout,
    build_so101_model,
    so101_asset_dir,
)

__all__ = [
    "ASSET_INSTALL",
    "GL_BACKEND",
    "HOME_POSE",
    "ArmSim",
    "MissingSimAssetsError",
    "SceneLayout",
    "build_so101_model",
    "so101_asset_dir",
]

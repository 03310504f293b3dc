"""Builders for cloud test assets: GLB scenes, images, MuJoCo bundles, ONNX policies, deploy YAML, MP4 clips.

Everything is made in memory, small and deterministic, so tests stay fast and offline.
"""

from __future__ import annotations

import io
import stat
import zipfile

import numpy as np

ZIP_DATE = (2024, 1, 1, 0, 0, 0)


def bearer(token: str) -> dict[str, str]:
    """Authorization headers for an API token secret."""
    return {"Authorization": f"Bearer {token}"}


# ---- scenes -----------------------------------------------------------------------------------


def glb_bytes(size: float = 1.0) -> bytes:
    """A real glTF 2.0 binary: one box mesh (positions + indices) in one scene, built with pygltflib."""
    import pygltflib as g

    h = size / 2
    corners = np.array([[x, y, z] for x in (-h, h) for y in (-h, h) for z in (-h, h)], dtype=np.float32)
    faces = [(0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1)]
    faces += [(2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3)]
    indices = np.array(faces, dtype=np.uint16).ravel()
    index_blob = indices.tobytes() + b"\0" * (-indices.nbytes % 4)
    blob = index_blob + corners.tobytes()
    gltf = g.GLTF2(
        scene=0,
        scenes=[g.Scene(nodes=[0])],
        nodes=[g.Node(mesh=0)],
        meshes=[g.Mesh(primitives=[g.Primitive(attributes=g.Attributes(POSITION=1), indices=0)])],
        accessors=[
            g.Accessor(bufferView=0, componentType=g.UNSIGNED_SHORT, count=indices.size, type=g.SCALAR),
            g.Accessor(
                bufferView=1,
                componentType=g.FLOAT,
                count=len(corners),
                type=g.VEC3,
                min=corners.min(axis=0).tolist(),
                max=corners.max(axis=0).tolist(),
            ),
        ],
        bufferViews=[
            g.BufferView(buffer=0, byteOffset=0, byteLength=indices.nbytes, target=g.ELEMENT_ARRAY_BUFFER),
            g.BufferView(buffer=0, byteOffset=len(index_blob), byteLength=corners.nbytes, target=g.ARRAY_BUFFER),
        ],
        buffers=[g.Buffer(byteLength=len(blob))],
    )
    gltf.set_binary_blob(blob)
    return b"".join(gltf.save_to_bytes())


def png_bytes(width: int = 8, height: int = 6, color: tuple[int, int, int] = (200, 80, 20)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="PNG")
    return buf.getvalue()


# ---- videos -----------------------------------------------------------------------------------


def mp4_bytes(frames: int = 10, width: int = 32, height: int = 24, fps: int = 10) -> bytes:
    """A real MP4 (MPEG-4 Part 2 video, ``frames`` frames at ``fps``) encoded with PyAV."""
    import av

    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            image = np.full((height, width, 3), (i * 25) % 256, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return out.getvalue()


MP4 = mp4_bytes()
"""The default clip: 10 frames, 32x24, 10 fps."""


# ---- robots -----------------------------------------------------------------------------------

ROBOT_XML = """<mujoco model="tiny_arm">
  <compiler angle="radian" meshdir="assets"/>
  <asset>
    <mesh name="link" file="link.stl"/>
  </asset>
  <worldbody>
    <body name="base">
      <joint name="hinge" type="hinge" axis="0 0 1"/>
      <geom type="mesh" mesh="link" mass="1"/>
      <body name="tip" pos="0 0 1">
        <joint name="slide" type="slide" axis="1 0 0"/>
        <geom type="capsule" size="0.05 0.2"/>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor joint="hinge"/>
    <motor joint="slide"/>
  </actuator>
</mujoco>
"""

SCENE_XML = """<mujoco model="tiny_scene">
  <include file="robot.xml"/>
  <worldbody>
    <geom name="floor" type="plane" size="5 5 0.1"/>
  </worldbody>
</mujoco>
"""

BROKEN_XML = """<mujoco model="broken">
  <worldbody>
    <body name="b">
      <joint name="j" type="hinge"/>
      <geom type="mesh" mesh="does_not_exist"/>
    </body>
  </worldbody>
</mujoco>
"""


def stl_bytes() -> bytes:
    """A binary STL tetrahedron (4 triangles), enough for MuJoCo to build a convex mesh."""
    v = np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0], [0, 0, 0.1]], dtype=np.float32)
    tris = [(0, 2, 1), (0, 1, 3), (0, 3, 2), (1, 2, 3)]
    out = bytearray(b"\0" * 80) + np.uint32(len(tris)).tobytes()
    for a, b, c in tris:
        normal = np.cross(v[b] - v[a], v[c] - v[a]).astype(np.float32)
        out += normal.tobytes() + v[a].tobytes() + v[b].tobytes() + v[c].tobytes() + b"\0\0"
    return bytes(out)


def zip_bytes(entries: dict[str, bytes | str], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of ``name -> content`` entries, in order; same entries give the same bytes (fixed timestamps)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, content in entries.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = compression
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, content)
    return buf.getvalue()


def robot_bundle_entries(with_scene: bool = True, prefix: str = "") -> dict[str, bytes | str]:
    """A tiny MJCF robot (a meshed hinge link and a slider), optionally with a scene XML including it."""
    entries: dict[str, bytes | str] = {f"{prefix}robot.xml": ROBOT_XML, f"{prefix}assets/link.stl": stl_bytes()}
    if with_scene:
        entries[f"{prefix}scene.xml"] = SCENE_XML
    return entries


def robot_zip(with_scene: bool = True, prefix: str = "") -> bytes:
    return zip_bytes(robot_bundle_entries(with_scene, prefix))


def broken_robot_zip() -> bytes:
    """An MJCF that parses as XML but does not compile (a geom names an undefined mesh)."""
    return zip_bytes({"robot.xml": BROKEN_XML})


def symlink_zip(target: str = "/etc/passwd") -> bytes:
    """A robot zip plus a symlink entry (Unix mode S_IFLNK in external_attr)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in robot_bundle_entries().items():
            zf.writestr(zipfile.ZipInfo(name, date_time=ZIP_DATE), content)
        link = zipfile.ZipInfo("assets/evil.stl", date_time=ZIP_DATE)
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, target)
    return buf.getvalue()


def zip_bomb(uncompressed_mb: int = 50) -> bytes:
    """A robot zip plus ``uncompressed_mb`` MB of zeros that deflate to ~1/1000 of that."""
    entries = robot_bundle_entries()
    entries["assets/padding.bin"] = bytes(uncompressed_mb * 1024 * 1024)
    return zip_bytes(entries)


# ---- policies ---------------------------------------------------------------------------------


def mlp_onnx(
    num_obs: int = 47,
    num_actions: int = 12,
    hidden: int = 16,
    obs_name: str = "obs",
    action_name: str = "actions",
    metadata: dict[str, str] | None = None,
    batch: int | str = 1,
) -> bytes:
    """A two-layer tanh MLP ``obs [batch, num_obs] -> actions [batch, num_actions]`` built with onnx.helper."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.standard_normal((num_obs, hidden)).astype(np.float32) * 0.1, "w1")
    b1 = numpy_helper.from_array(np.zeros(hidden, np.float32), "b1")
    w2 = numpy_helper.from_array(rng.standard_normal((hidden, num_actions)).astype(np.float32) * 0.1, "w2")
    b2 = numpy_helper.from_array(np.zeros(num_actions, np.float32), "b2")
    nodes = [
        helper.make_node("Gemm", [obs_name, "w1", "b1"], ["h"]),
        helper.make_node("Tanh", ["h"], ["a"]),
        helper.make_node("Gemm", ["a", "w2", "b2"], [action_name]),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp_policy",
        [helper.make_tensor_value_info(obs_name, TensorProto.FLOAT, [batch, num_obs])],
        [helper.make_tensor_value_info(action_name, TensorProto.FLOAT, [batch, num_actions])],
        initializer=[w1, b1, w2, b2],
    )
    return _serialize(graph, metadata)


def recurrent_onnx(num_obs: int = 47, num_actions: int = 12, hidden: int = 8) -> bytes:
    """An LSTM-style policy: ``obs, h_in, c_in -> actions, h_out, c_out`` (state [1, 1, hidden])."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    w_obs = numpy_helper.from_array(rng.standard_normal((num_obs, hidden)).astype(np.float32) * 0.1, "w_obs")
    w_act = numpy_helper.from_array(rng.standard_normal((hidden, num_actions)).astype(np.float32) * 0.1, "w_act")
    shape = numpy_helper.from_array(np.array([1, hidden], np.int64), "flat_shape")
    state_shape = numpy_helper.from_array(np.array([1, 1, hidden], np.int64), "state_shape")
    nodes = [
        helper.make_node("MatMul", ["obs", "w_obs"], ["x"]),
        helper.make_node("Reshape", ["h_in", "flat_shape"], ["h_flat"]),
        helper.make_node("Reshape", ["c_in", "flat_shape"], ["c_flat"]),
        helper.make_node("Add", ["x", "h_flat"], ["pre"]),
        helper.make_node("Add", ["pre", "c_flat"], ["pre2"]),
        helper.make_node("Tanh", ["pre2"], ["h_new"]),
        helper.make_node("MatMul", ["h_new", "w_act"], ["actions"]),
        helper.make_node("Reshape", ["h_new", "state_shape"], ["h_out"]),
        helper.make_node("Reshape", ["pre2", "state_shape"], ["c_out"]),
    ]
    state = [1, 1, hidden]
    graph = helper.make_graph(
        nodes,
        "recurrent_policy",
        [
            helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, num_obs]),
            helper.make_tensor_value_info("h_in", TensorProto.FLOAT, state),
            helper.make_tensor_value_info("c_in", TensorProto.FLOAT, state),
        ],
        [
            helper.make_tensor_value_info("actions", TensorProto.FLOAT, [1, num_actions]),
            helper.make_tensor_value_info("h_out", TensorProto.FLOAT, state),
            helper.make_tensor_value_info("c_out", TensorProto.FLOAT, state),
        ],
        initializer=[w_obs, w_act, shape, state_shape],
    )
    return _serialize(graph)


def depth_onnx(height: int = 24, width: int = 32, features: int = 8) -> bytes:
    """A tiny depth encoder: ``depth [1, 1, H, W] -> features [1, features]`` (global pooling + linear)."""
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((1, features), np.float32), "w")
    flat = numpy_helper.from_array(np.array([1, 1], np.int64), "flat")
    nodes = [
        helper.make_node("GlobalAveragePool", ["depth"], ["pooled"]),
        helper.make_node("Reshape", ["pooled", "flat"], ["p"]),
        helper.make_node("MatMul", ["p", "w"], ["features"]),
    ]
    graph = helper.make_graph(
        nodes,
        "depth_encoder",
        [helper.make_tensor_value_info("depth", TensorProto.FLOAT, [1, 1, height, width])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, features])],
        initializer=[w, flat],
    )
    return _serialize(graph)


def _serialize(graph, metadata: dict[str, str] | None = None) -> bytes:
    from onnx import checker, helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="runrobot-tests")
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    checker.check_model(model)
    return model.SerializeToString()


def onnx_metadata_config(num_obs: int = 47, num_actions: int = 12) -> dict:
    """A complete onnx_metadata_v1 config for :func:`mlp_onnx` with the same sizes."""
    return {
        "observationLayout": [
            {"name": "base_ang_vel", "size": 3},
            {"name": "projected_gravity", "size": 3},
            {"name": "velocity_command", "size": 3},
            {"name": "joint_pos", "size": num_actions},
            {"name": "joint_vel", "size": num_actions},
            {"name": "last_action", "size": num_obs - 9 - 2 * num_actions},
        ],
        "actionLayout": [{"name": "joint_pos_target", "size": num_actions}],
        "defaultJointPositions": [0.0] * num_actions,
        "actionScale": 0.25,
        "controlDt": 0.02,
    }


G1_KPS = [100, 100, 100, 150, 40, 40, 100, 100, 100, 150, 40, 40]
G1_KDS = [2, 2, 2, 4, 2, 2, 2, 2, 2, 4, 2, 2]
G1_DEFAULT_ANGLES = [-0.1, 0.0, 0.0, 0.3, -0.2, 0.0, -0.1, 0.0, 0.0, 0.3, -0.2, 0.0]


def deploy_yaml(num_obs: int = 47, num_actions: int = 12, **overrides: object) -> str:
    """Unitree's G1 deploy YAML (unitree_rl_gym deploy_mujoco shape): 47 obs, 12 actions.

    ``overrides`` replace keys; a value of None drops the key.
    """
    import yaml

    config: dict[str, object] = {
        "policy_path": "{LEGGED_GYM_ROOT_DIR}/deploy/pre_train/g1/motion.pt",
        "xml_path": "{LEGGED_GYM_ROOT_DIR}/resources/robots/g1_description/scene.xml",
        "simulation_duration": 60.0,
        "simulation_dt": 0.002,
        "control_decimation": 10,
        "kps": G1_KPS,
        "kds": G1_KDS,
        "default_angles": G1_DEFAULT_ANGLES,
        "ang_vel_scale": 0.25,
        "dof_pos_scale": 1.0,
        "dof_vel_scale": 0.05,
        "action_scale": 0.25,
        "cmd_scale": [2.0, 2.0, 0.25],
        "num_actions": num_actions,
        "num_obs": num_obs,
        "cmd_init": [0.5, 0, 0],
    }
    for key, value in overrides.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    return yaml.safe_dump(config, sort_keys=False)

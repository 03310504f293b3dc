"""`ros2 launch runrobot g1_lowcmd.launch.py policy:=DIR`: G1 lowcmd controller + sidecar (graphs/g1_lowcmd.yaml)."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from graph_launch import graph_launch_description  # noqa: E402


def generate_launch_description():
    return graph_launch_description("g1_lowcmd")

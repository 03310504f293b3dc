"""`ros2 launch runrobot demo.launch.py`: the 'demo' node graph (config/graphs/demo.yaml)."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from graph_launch import graph_launch_description  # noqa: E402


def generate_launch_description():
    return graph_launch_description("demo")

"""`ros2 launch runrobot g1_sim.launch.py [fixed_base:=true] [freeze:=true]`: the simulated G1 (graphs/g1_sim.yaml)."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from graph_launch import graph_launch_description  # noqa: E402


def generate_launch_description():
    return graph_launch_description("g1_sim")

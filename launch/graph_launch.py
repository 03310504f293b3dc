"""Shared by the launch files: turn a ``config/graphs/<name>.yaml`` node graph into a LaunchDescription.

Needs a full ROS 2 install (``launch``, ``launch_ros``); pip-only installs use ``runrobot launch <name>``,
which reads the same graph through the same ``runrobot.graph`` functions.
"""

from __future__ import annotations

from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription
from runrobot.graph import load_graph, render_args


def graph_launch_description(name: str) -> LaunchDescription:
    graph = load_graph(name)
    defaults = {k: str(v) for k, v in (graph.get("arguments") or {}).items()}

    def nodes(context):
        values = {k: LaunchConfiguration(k).perform(context) for k in defaults}
        return [
            Node(
                package="runrobot",
                executable=node["executable"],
                name=node["name"],
                arguments=render_args(node.get("args", []), values),
                output="screen",
            )
            for node in graph["nodes"]
        ]

    return LaunchDescription(
        [DeclareLaunchArgument(k, default_value=v) for k, v in defaults.items()] + [OpaqueFunction(function=nodes)]
    )

"""Console scripts for ``ros2 run`` / launch files: each is one ``runrobot`` subcommand.

ROS launch appends ``--ros-args ...`` to argv; it is stripped before argument parsing.
"""

from __future__ import annotations

import sys

from runrobot.cli import main


def _run(subcommand: list[str]) -> int:
    args = sys.argv[1:]
    if "--ros-args" in args:
        args = args[: args.index("--ros-args")]
    return main([*subcommand, *args])


def sidecar() -> int:
    """``runrobot serve`` as a ROS executable."""
    return _run(["serve"])


def arm_sim() -> int:
    """``runrobot sim`` as a ROS executable."""
    return _run(["sim"])


def g1_lowcmd() -> int:
    """``runrobot g1 lowcmd`` as a ROS executable."""
    return _run(["g1", "lowcmd"])


def g1_sim() -> int:
    """``runrobot g1 sim`` as a ROS executable."""
    return _run(["g1", "sim"])

"""Process environment for ROS 2: the Fast DDS profile and the middleware choice.

Call ``prepare_ros_environment()`` before ``rclpy.init``.
"""

from __future__ import annotations

import os

from runtime import CONFIG_DIR

FASTDDS_PROFILE = CONFIG_DIR / "fastdds_shm.xml"


def prepare_ros_environment() -> dict[str, str]:
    """Use runrobot's Fast DDS profile (32 MB SHM segment) unless the user set their own.

    ``ROS_DOMAIN_ID`` and ``ROS_AUTOMATIC_DISCOVERY_RANGE`` are left as the user set them.
    Returns the variables this call set.
    """
    changed: dict[str, str] = {}
    if "FASTDDS_DEFAULT_PROFILES_FILE" not in os.environ and FASTDDS_PROFILE.is_file():
        changed["FASTDDS_DEFAULT_PROFILES_FILE"] = str(FASTDDS_PROFILE)
    if "RMW_IMPLEMENTATION" not in os.environ:
        changed["RMW_IMPLEMENTATION"] = "rmw_fastrtps_cpp"
    os.environ.update(changed)
    return changed

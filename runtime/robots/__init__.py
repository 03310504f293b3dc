"""Robot profiles (joint names, order, limits) and joint normalization."""

from runtime.robots.normalization import JointNormalizer, NonFiniteJointError
from runtime.robots.profile import JointSpec, RobotProfile, available_robots, load_robot_profile

__all__ = [
    "JointNormalizer",
    "JointSpec",
    "NonFiniteJointError",
    "RobotProfile",
    "available_robots",
    "load_robot_profile",
]

"""Unitree G1 (29-DoF) motor order and the PD gains Unitree's deploy code uses for it.

The motor names and count live in :mod:`runtime.g1.motors` (numpy only, no ROS); they are
re-exported here for the policy code.
"""

from __future__ import annotations

from runtime.g1.motors import G1_MOTOR_NAMES, NUM_MOTORS

__all__ = [
    "G1_ARM_WAIST_MOTORS",
    "G1_DEFAULT_KDS",
    "G1_DEFAULT_KPS",
    "G1_DEFAULT_LEG_ANGLES",
    "G1_LEG_MOTORS",
    "G1_MOTOR_NAMES",
    "G1_NUM_MOTORS",
]

G1_NUM_MOTORS = NUM_MOTORS

G1_LEG_MOTORS: tuple[int, ...] = tuple(range(12))
G1_ARM_WAIST_MOTORS: tuple[int, ...] = tuple(range(12, G1_NUM_MOTORS))

_LEG_KP = (100.0, 100.0, 100.0, 150.0, 40.0, 40.0)
_LEG_KD = (2.0, 2.0, 2.0, 4.0, 2.0, 2.0)
_ARM_KP = (100.0, 100.0, 50.0, 50.0, 20.0, 20.0, 20.0)
_ARM_KD = (2.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0)
# Per motor (index = G1 motor), from unitree_rl_gym deploy_real/configs/g1.yaml.
G1_DEFAULT_KPS: tuple[float, ...] = _LEG_KP * 2 + (300.0, 300.0, 300.0) + _ARM_KP * 2
G1_DEFAULT_KDS: tuple[float, ...] = _LEG_KD * 2 + (3.0, 3.0, 3.0) + _ARM_KD * 2
G1_DEFAULT_LEG_ANGLES: tuple[float, ...] = (-0.1, 0.0, 0.0, 0.3, -0.2, 0.0) * 2

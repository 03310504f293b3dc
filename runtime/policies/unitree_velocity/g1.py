"""Unitree G1 (29-DoF) motor order and the PD gains Unitree's deploy code uses for it."""

from __future__ import annotations

G1_MOTOR_NAMES: tuple[str, ...] = (
    "left_hip_pitch_joint",
    "left_hip_roll_joint",
    "left_hip_yaw_joint",
    "left_knee_joint",
    "left_ankle_pitch_joint",
    "left_ankle_roll_joint",
    "right_hip_pitch_joint",
    "right_hip_roll_joint",
    "right_hip_yaw_joint",
    "right_knee_joint",
    "right_ankle_pitch_joint",
    "right_ankle_roll_joint",
    "waist_yaw_joint",
    "waist_roll_joint",
    "waist_pitch_joint",
    "left_shoulder_pitch_joint",
    "left_shoulder_roll_joint",
    "left_shoulder_yaw_joint",
    "left_elbow_joint",
    "left_wrist_roll_joint",
    "left_wrist_pitch_joint",
    "left_wrist_yaw_joint",
    "right_shoulder_pitch_joint",
    "right_shoulder_roll_joint",
    "right_shoulder_yaw_joint",
    "right_elbow_joint",
    "right_wrist_roll_joint",
    "right_wrist_pitch_joint",
    "right_wrist_yaw_joint",
)
G1_LEG_MOTORS: tuple[int, ...] = tuple(range(12))
G1_ARM_WAIST_MOTORS: tuple[int, ...] = tuple(range(12, 29))

_LEG_KP = (100.0, 100.0, 100.0, 150.0, 40.0, 40.0)
_LEG_KD = (2.0, 2.0, 2.0, 4.0, 2.0, 2.0)
_ARM_KP = (100.0, 100.0, 50.0, 50.0, 20.0, 20.0, 20.0)
_ARM_KD = (2.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0)
# Per motor (index = G1 motor), from unitree_rl_gym deploy_real/configs/g1.yaml.
G1_DEFAULT_KPS: tuple[float, ...] = _LEG_KP * 2 + (300.0, 300.0, 300.0) + _ARM_KP * 2
G1_DEFAULT_KDS: tuple[float, ...] = _LEG_KD * 2 + (3.0, 3.0, 3.0) + _ARM_KD * 2
G1_DEFAULT_LEG_ANGLES: tuple[float, ...] = (-0.1, 0.0, 0.0, 0.3, -0.2, 0.0) * 2

"""The packed C-struct layouts of Unitree's hg (G1) ``LowCmd`` and ``LowState``: the bytes their CRC covers.

Unitree computes ``crc`` over the message copied into a plain C struct (little-endian, natural
alignment: each field at a multiple of its size, structs padded to their largest member), taking
every 32-bit word but the last (the ``crc`` field itself). These numpy dtypes place each field at
the offset the C compiler gives it; padding bytes are zero.

``LowCmd`` (1004 bytes, CRC over 250 words) is Unitree's ``motor_crc_hg.h`` struct; the format
``LOWCMD_STRUCT_FORMAT`` is the same layout for :mod:`struct`.

``LowState`` (2092 bytes, CRC over 522 words) is derived the same way from the message's field
order; it equals the pack format Unitree's Python SDK uses for ``unitree_hg`` LowState
(``LOWSTATE_STRUCT_FORMAT``). It has not been checked against a packet from a real robot.
"""

from __future__ import annotations

import struct

import numpy as np

NUM_MOTORS = 35
"""Motor slots in a LowCmd/LowState (the G1 uses 29 of them; the rest are zero)."""

MOTOR_CMD_FIELDS = ("mode", "q", "dq", "tau", "kp", "kd")
"""Column order of the ``(35, 6)`` motor command arrays used by :mod:`runtime.g1.crc`."""

MOTOR_CMD_DTYPE = np.dtype(
    {
        "names": ["mode", "q", "dq", "tau", "kp", "kd", "reserve"],
        "formats": ["u1", "<f4", "<f4", "<f4", "<f4", "<f4", "<u4"],
        "offsets": [0, 4, 8, 12, 16, 20, 24],
        "itemsize": 28,
    }
)
LOWCMD_DTYPE = np.dtype(
    {
        "names": ["mode_pr", "mode_machine", "motor_cmd", "reserve", "crc"],
        "formats": ["u1", "u1", (MOTOR_CMD_DTYPE, (NUM_MOTORS,)), ("<u4", (4,)), "<u4"],
        "offsets": [0, 1, 4, 984, 1000],
        "itemsize": 1004,
    }
)
LOWCMD_STRUCT_FORMAT = "<2B2x" + "B3x5fI" * NUM_MOTORS + "5I"
LOWCMD_SIZE = 1004
LOWCMD_CRC_WORDS = 250  # (1004 >> 2) - 1: every word but crc

IMU_STATE_DTYPE = np.dtype(
    {
        "names": ["quaternion", "gyroscope", "accelerometer", "rpy", "temperature"],
        "formats": [("<f4", (4,)), ("<f4", (3,)), ("<f4", (3,)), ("<f4", (3,)), "<i2"],
        "offsets": [0, 16, 28, 40, 52],
        "itemsize": 56,
    }
)
MOTOR_STATE_DTYPE = np.dtype(
    {
        "names": ["mode", "q", "dq", "ddq", "tau_est", "temperature", "vol", "sensor", "motorstate", "reserve"],
        "formats": ["u1", "<f4", "<f4", "<f4", "<f4", ("<i2", (2,)), "<f4", ("<u4", (2,)), "<u4", ("<u4", (4,))],
        "offsets": [0, 4, 8, 12, 16, 20, 24, 28, 36, 40],
        "itemsize": 56,
    }
)
LOWSTATE_DTYPE = np.dtype(
    {
        "names": [
            "version",
            "mode_pr",
            "mode_machine",
            "tick",
            "imu_state",
            "motor_state",
            "wireless_remote",
            "reserve",
            "crc",
        ],
        "formats": [
            ("<u4", (2,)),
            "u1",
            "u1",
            "<u4",
            IMU_STATE_DTYPE,
            (MOTOR_STATE_DTYPE, (NUM_MOTORS,)),
            ("u1", (40,)),
            ("<u4", (4,)),
            "<u4",
        ],
        "offsets": [0, 8, 9, 12, 16, 72, 2032, 2072, 2088],
        "itemsize": 2092,
    }
)
LOWSTATE_STRUCT_FORMAT = "<2I2B2xI" + "13fh2x" + "B3x4f2hf7I" * NUM_MOTORS + "40B5I"
LOWSTATE_SIZE = 2092
LOWSTATE_CRC_WORDS = 522  # (2092 >> 2) - 1

for _dtype, _fmt, _size in (
    (LOWCMD_DTYPE, LOWCMD_STRUCT_FORMAT, LOWCMD_SIZE),
    (LOWSTATE_DTYPE, LOWSTATE_STRUCT_FORMAT, LOWSTATE_SIZE),
):
    assert _dtype.itemsize == struct.calcsize(_fmt) == _size, (_dtype, _fmt)

"""CRC of unitree_hg LowCmd/LowState against an independent bitwise reference over struct-packed bytes."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from runtime.g1 import crc as g1crc
from runtime.g1.lowcmd_layout import LOWCMD_DTYPE, LOWSTATE_DTYPE

POLY = 0x04C11DB7


# ----------------------------------------------------------------------------------------------- reference


def reference_crc32_core(data: bytes) -> int:
    """Unitree's crc32_core, bit by bit: every little-endian uint32 word of ``data``, MSB first."""
    assert len(data) % 4 == 0
    crc = 0xFFFFFFFF
    for (word,) in struct.iter_unpack("<I", data):
        for bit in range(31, -1, -1):
            top = crc & 0x80000000
            crc = (crc << 1) & 0xFFFFFFFF
            if top:
                crc ^= POLY
            if (word >> bit) & 1:
                crc ^= POLY
    return crc


def reference_crc32_mpeg2(data: bytes) -> int:
    """CRC-32/MPEG-2, byte by byte, MSB first (init 0xFFFFFFFF, no reflection, no final XOR)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ POLY) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return crc


def struct_pack_lowcmd(mode_pr: int, mode_machine: int, motors: list[tuple], reserve: list[int], crc: int) -> bytes:
    """The C struct written out field by field: header, 35 x (mode, pad, 5 floats, reserve), reserve[4], crc."""
    out = struct.pack("<BB2x", mode_pr, mode_machine)
    for mode, q, dq, tau, kp, kd, res in motors:
        out += struct.pack("<B3xfffffI", mode, q, dq, tau, kp, kd, res)
    out += struct.pack("<4II", *reserve, crc)
    return out


def random_lowcmd(rng: np.random.Generator) -> dict:
    motors = [
        (
            int(rng.integers(0, 256)),
            *(float(np.float32(v)) for v in rng.normal(0.0, 3.0, 5)),
            int(rng.integers(0, 2**32)) if rng.random() < 0.2 else 0,
        )
        for _ in range(35)
    ]
    return {
        "mode_pr": int(rng.integers(0, 2)),
        "mode_machine": int(rng.integers(0, 256)),
        "motors": motors,
        "reserve": [int(v) for v in rng.integers(0, 2**32, 4)],
    }


def as_arrays(cmd: dict) -> tuple[np.ndarray, np.ndarray]:
    motors = np.array([m[:6] for m in cmd["motors"]], dtype=np.float64)
    motor_reserve = np.array([m[6] for m in cmd["motors"]], dtype=np.uint32)
    return motors, motor_reserve


# ----------------------------------------------------------------------------------------------- tests


def test_packed_sizes() -> None:
    assert struct.calcsize("<BB2x" + "B3xfffffI" * 35 + "4II") == 1004
    assert LOWCMD_DTYPE.itemsize == 1004
    assert len(g1crc.pack_lowcmd(0, 0, np.zeros((35, 6)))) == 1004
    assert LOWSTATE_DTYPE.itemsize == 2092


def test_mpeg2_check_value() -> None:
    assert reference_crc32_mpeg2(b"123456789") == 0x0376E6E7  # the catalogued CRC-32/MPEG-2 check
    assert g1crc.crc32_mpeg2(b"123456789") == 0x0376E6E7
    rng = np.random.default_rng(7)
    for n in (0, 1, 3, 4, 17, 1000):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert g1crc.crc32_mpeg2(data) == reference_crc32_mpeg2(data)


@pytest.mark.parametrize("seed", range(6))
def test_lowcmd_crc_matches_bitwise_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cmd = random_lowcmd(rng)
    expected_bytes = struct_pack_lowcmd(cmd["mode_pr"], cmd["mode_machine"], cmd["motors"], cmd["reserve"], 0)
    expected_crc = reference_crc32_core(expected_bytes[:1000])  # 250 words: all but crc

    motors, motor_reserve = as_arrays(cmd)
    packed = g1crc.pack_lowcmd(cmd["mode_pr"], cmd["mode_machine"], motors, cmd["reserve"], motor_reserve)
    assert packed[:1000] == expected_bytes[:1000]
    assert struct.unpack_from("<I", packed, 1000)[0] == expected_crc  # crc written into the last word
    assert g1crc.lowcmd_crc(packed) == expected_crc
    assert g1crc.lowcmd_crc(expected_bytes) == expected_crc  # the crc word itself is not covered
    assert g1crc.crc32_core(expected_bytes, 250) == expected_crc

    packer = g1crc.LowCmdPacker()
    assert packer.pack(cmd["mode_pr"], cmd["mode_machine"], motors, cmd["reserve"], motor_reserve) == expected_crc
    assert packer.packed == packed


def test_equals_mpeg2_over_byte_swapped_words() -> None:
    rng = np.random.default_rng(11)
    for _ in range(4):
        cmd = random_lowcmd(rng)
        motors, motor_reserve = as_arrays(cmd)
        packed = g1crc.pack_lowcmd(cmd["mode_pr"], cmd["mode_machine"], motors, cmd["reserve"], motor_reserve)
        words = struct.unpack("<250I", packed[:1000])
        swapped = struct.pack(">250I", *words)
        assert g1crc.lowcmd_crc(packed) == reference_crc32_mpeg2(swapped) == g1crc.crc32_mpeg2(swapped)
        # and, via zlib, the same as the reflected CRC-32 of the bit-reversed stream
        rev = bytes(int(f"{b:08b}"[::-1], 2) for b in swapped)
        assert g1crc.lowcmd_crc(packed) == int(f"{zlib.crc32(rev) ^ 0xFFFFFFFF:032b}"[::-1], 2)


def test_every_single_bit_flip_changes_the_crc() -> None:
    rng = np.random.default_rng(3)
    motors, motor_reserve = as_arrays(random_lowcmd(rng))
    packed = bytearray(g1crc.pack_lowcmd(1, 7, motors, None, motor_reserve))
    base = g1crc.lowcmd_crc(packed)
    for bit in range(1000 * 8):  # every covered bit, padding included
        packed[bit // 8] ^= 1 << (bit % 8)
        assert g1crc.lowcmd_crc(packed) != base, f"flipping bit {bit} left the crc unchanged"
        packed[bit // 8] ^= 1 << (bit % 8)
    packed[1000] ^= 1  # the crc word is not covered
    assert g1crc.lowcmd_crc(packed) == base


def test_zero_lowcmd_vector() -> None:
    zero = bytes(1004)
    assert g1crc.lowcmd_crc(zero) == reference_crc32_core(zero[:1000])
    assert g1crc.pack_lowcmd(0, 0, np.zeros((35, 6)))[:1000] == zero[:1000]


def test_float_rounding_matches_c_float() -> None:
    """Doubles are stored as float32 (round to nearest), exactly as the C struct holds them."""
    motors = np.zeros((35, 6))
    motors[:, 1] = np.linspace(-3.14159265358979, 3.14159265358979, 35)
    motors[:, 5] = 0.1
    packed = g1crc.pack_lowcmd(0, 0, motors)
    ref = struct_pack_lowcmd(0, 0, [(0, float(q), 0.0, 0.0, 0.0, 0.1, 0) for q in motors[:, 1]], [0, 0, 0, 0], 0)
    assert packed[:1000] == ref[:1000]


def test_pack_validation() -> None:
    with pytest.raises(ValueError, match="shape"):
        g1crc.pack_lowcmd(0, 0, np.zeros((29, 6)))
    bad = np.zeros((35, 6))
    bad[0, 0] = 256
    with pytest.raises(ValueError, match="0..255"):
        g1crc.pack_lowcmd(0, 0, bad)
    bad[0, 0] = 0.5
    with pytest.raises(ValueError, match="0..255"):
        g1crc.pack_lowcmd(0, 0, bad)
    with pytest.raises(ValueError, match="mode_machine"):
        g1crc.pack_lowcmd(0, 300, np.zeros((35, 6)))
    with pytest.raises(ValueError, match="1004 bytes"):
        g1crc.lowcmd_crc(bytes(1000))


def test_lowstate_crc_matches_bitwise_reference() -> None:
    rng = np.random.default_rng(5)
    state = np.zeros((), dtype=LOWSTATE_DTYPE)
    state["version"] = [1, 2]
    state["mode_pr"] = 1
    state["mode_machine"] = 4
    state["tick"] = 123456
    state["imu_state"]["quaternion"] = rng.normal(size=4)
    state["imu_state"]["rpy"] = rng.normal(size=3)
    state["imu_state"]["temperature"] = -12
    ms = state["motor_state"]
    ms["mode"] = rng.integers(0, 2, 35)
    ms["q"] = rng.normal(size=35)
    ms["temperature"] = rng.integers(-40, 120, (35, 2))
    ms["sensor"] = rng.integers(0, 2**32, (35, 2))
    ms["motorstate"] = rng.integers(0, 2**32, 35)
    state["wireless_remote"] = rng.integers(0, 256, 40)
    packed = state.tobytes()

    # The same struct written with struct.pack: header, IMU (13 floats, int16, pad), 35 motors, remote, reserve, crc
    imu = state["imu_state"]
    fields = [*state["version"].tolist(), int(state["mode_pr"]), int(state["mode_machine"]), int(state["tick"])]
    fields += [
        float(v) for v in np.concatenate([imu["quaternion"], imu["gyroscope"], imu["accelerometer"], imu["rpy"]])
    ]
    fields.append(int(imu["temperature"]))
    for m in ms:
        fields += [int(m["mode"]), float(m["q"]), float(m["dq"]), float(m["ddq"]), float(m["tau_est"])]
        fields += [*m["temperature"].tolist(), float(m["vol"]), *m["sensor"].tolist(), int(m["motorstate"])]
        fields += m["reserve"].tolist()
    fields += [*state["wireless_remote"].tolist(), *state["reserve"].tolist(), 0]
    fmt = "<2I2B2xI" + "13fh2x" + "B3x4f2hf2II4I" * 35 + "40B4II"
    assert struct.pack(fmt, *fields) == packed
    assert g1crc.lowstate_crc(packed) == reference_crc32_core(packed[:2088])


def test_lowcmd_message_helpers() -> None:
    from unitree_hg.msg import LowCmd

    rng = np.random.default_rng(21)
    cmd = random_lowcmd(rng)
    msg = LowCmd()
    msg.mode_pr = cmd["mode_pr"]
    msg.mode_machine = cmd["mode_machine"]
    for m, (mode, q, dq, tau, kp, kd, res) in zip(msg.motor_cmd, cmd["motors"], strict=True):
        m.mode, m.q, m.dq, m.tau, m.kp, m.kd, m.reserve = mode, q, dq, tau, kp, kd, res
    msg.reserve = np.array(cmd["reserve"], dtype=np.uint32)
    expected_bytes = struct_pack_lowcmd(cmd["mode_pr"], cmd["mode_machine"], cmd["motors"], cmd["reserve"], 0)
    expected = reference_crc32_core(expected_bytes[:1000])

    assert not g1crc.verify_lowcmd_crc(msg)
    assert g1crc.set_lowcmd_crc(msg) == expected == msg.crc
    assert g1crc.verify_lowcmd_crc(msg)
    assert g1crc.pack_lowcmd_msg(msg)[:1000] == expected_bytes[:1000]
    msg.motor_cmd[34].kd = float(np.nextafter(np.float32(msg.motor_cmd[34].kd), np.float32(np.inf)))
    assert not g1crc.verify_lowcmd_crc(msg)

    # the array fast path fills an identical message
    motors, motor_reserve = as_arrays(cmd)
    packer = g1crc.LowCmdPacker()
    packer.pack(cmd["mode_pr"], cmd["mode_machine"], motors, cmd["reserve"], motor_reserve)
    filled = packer.fill_msg(LowCmd())
    assert filled.crc == expected
    assert g1crc.verify_lowcmd_crc(filled)
    assert g1crc.pack_lowcmd_msg(filled) == packer.packed


def test_lowstate_message_helpers() -> None:
    from unitree_hg.msg import LowState

    msg = LowState()
    msg.version = np.array([3, 9], dtype=np.uint32)
    msg.tick = 42
    msg.imu_state.quaternion = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)
    msg.imu_state.temperature = 37
    msg.motor_state[5].q = 0.25
    msg.motor_state[5].temperature = np.array([40, -3], dtype=np.int16)
    msg.wireless_remote = np.arange(40, dtype=np.uint8)
    packed = g1crc.pack_lowstate_msg(msg)
    assert len(packed) == 2092
    assert struct.unpack_from("<2I2BxxI", packed, 0) == (3, 9, 0, 0, 42)
    assert struct.unpack_from("<h", packed, 16 + 52)[0] == 37
    assert struct.unpack_from("<f", packed, 72 + 5 * 56 + 4)[0] == 0.25
    assert struct.unpack_from("<2h", packed, 72 + 5 * 56 + 20) == (40, -3)
    assert packed[2032:2072] == bytes(range(40))
    expected = reference_crc32_core(packed[:2088])
    assert g1crc.set_lowstate_crc(msg) == expected
    assert g1crc.verify_lowstate_crc(msg)
    msg.tick = 43
    assert not g1crc.verify_lowstate_crc(msg)

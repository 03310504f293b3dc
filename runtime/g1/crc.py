"""CRC of Unitree G1 (``unitree_hg``) LowCmd / LowState messages, ROS-free (numpy + zlib).

The robot drops a ``LowCmd`` whose ``crc`` is wrong. Unitree's ``crc32_core`` runs over the message
packed as its C struct (see :mod:`runtime.g1.lowcmd_layout`), as little-endian 32-bit words, all but
the last (``crc`` itself): CRC-32 with polynomial 0x04C11DB7, initial value 0xFFFFFFFF, each word
fed most-significant bit first, no reflection, no final XOR. That is CRC-32/MPEG-2 over the words
written big-endian.

Speed: MPEG-2 is computed with :func:`zlib.crc32` (reflected CRC-32, same polynomial) on the
bit-reversed bytes, then the result is bit-reversed back: ~3 us for a LowCmd instead of ~1.5 ms for
a bit loop in Python (``bench/crc.py``). :class:`LowCmdPacker` packs from numpy arrays into a preallocated buffer with a
handful of vectorised assignments (the 500 Hz path); ``*_msg`` helpers work on ``unitree_hg.msg``
messages (duck-typed: this module does not import ROS).

Note: Unitree's ROS 2 C++ example ``get_crc`` copies only the first 4 bytes of ``LowCmd.reserve``
into its struct; here all four reserve words are packed (the C struct as sent, as Unitree's Python
SDK packs it). The two agree whenever ``reserve[1:]`` is zero, which is how Unitree's examples send it.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from runtime.g1.lowcmd_layout import (
    LOWCMD_CRC_WORDS,
    LOWCMD_DTYPE,
    LOWCMD_SIZE,
    LOWSTATE_DTYPE,
    LOWSTATE_SIZE,
    MOTOR_CMD_DTYPE,
    MOTOR_STATE_DTYPE,
    NUM_MOTORS,
)

__all__ = [
    "LowCmdPacker",
    "crc32_core",
    "crc32_mpeg2",
    "lowcmd_crc",
    "lowstate_crc",
    "pack_lowcmd",
    "pack_lowcmd_msg",
    "pack_lowstate_msg",
    "set_lowcmd_crc",
    "set_lowstate_crc",
    "verify_lowcmd_crc",
    "verify_lowstate_crc",
]

_REV8 = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))  # bytes.translate table: bit-reverse each byte
_INT_MODES = frozenset(range(256))
_FLOAT_MODES = frozenset(float(i) for i in range(256))  # set lookups beat numpy reductions on 35 values
_U32 = np.dtype("<u4")
_F32 = np.dtype("<f4")


def _reflect32(x: int) -> int:
    return int.from_bytes(x.to_bytes(4, "little").translate(_REV8), "big")


def crc32_mpeg2(data: bytes | bytearray | memoryview) -> int:
    """CRC-32/MPEG-2 of ``data`` (poly 0x04C11DB7, init 0xFFFFFFFF, MSB first, no final XOR)."""
    # zlib runs the reflected algorithm: on bit-reversed input it yields the bit-reversed register
    # (init 0xFFFFFFFF is its own reflection); undo zlib's final XOR and reflect back.
    return _reflect32(zlib.crc32(bytes(data).translate(_REV8)) ^ 0xFFFFFFFF)


def _crc_of_words(words: np.ndarray) -> int:
    """``crc32_core`` of a ``<u4`` array: CRC-32/MPEG-2 over its words written big-endian."""
    return _reflect32(zlib.crc32(words.byteswap().tobytes().translate(_REV8)) ^ 0xFFFFFFFF)


def crc32_core(data: bytes | bytearray | memoryview | np.ndarray, words: int | None = None) -> int:
    """Unitree's ``crc32_core`` over the first ``words`` little-endian uint32 words of ``data`` (default: all)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    n = buf.size // 4 if words is None else words
    if n * 4 > buf.size:
        raise ValueError(f"crc32_core: {n} words need {n * 4} bytes, got {buf.size}")
    return _crc_of_words(buf[: n * 4].view(_U32))


def _crc_of_struct(packed: bytes | bytearray | memoryview | np.ndarray, size: int, what: str) -> int:
    buf = np.frombuffer(packed, dtype=np.uint8)
    if buf.size != size:
        raise ValueError(f"a packed {what} is {size} bytes, got {buf.size}")
    return _crc_of_words(buf[: size - 4].view(_U32))


def lowcmd_crc(packed: bytes | bytearray | memoryview | np.ndarray) -> int:
    """The ``crc`` of a LowCmd packed as its 1004-byte C struct (the last word, crc, is not covered)."""
    return _crc_of_struct(packed, LOWCMD_SIZE, "LowCmd")


def lowstate_crc(packed: bytes | bytearray | memoryview | np.ndarray) -> int:
    """The ``crc`` of a LowState packed as its 2092-byte C struct."""
    return _crc_of_struct(packed, LOWSTATE_SIZE, "LowState")


# ---------------------------------------------------------------------------------------------------
# LowCmd from numpy arrays (fast path)


def _uint_field(name: str, value: int, bits: int) -> int:
    value = int(value)
    if not 0 <= value < (1 << bits):
        raise ValueError(f"{name}={value} does not fit in uint{bits}")
    return value


class LowCmdPacker:
    """Packs LowCmds from arrays into one preallocated 1004-byte buffer and computes their CRC.

    ``pack()`` costs a few vectorised numpy assignments plus :func:`crc32_core`; ``packed`` is the
    C struct with the crc filled in; ``fill_msg()`` copies the last pack into a
    ``unitree_hg.msg.LowCmd`` (crc included).
    """

    def __init__(self) -> None:
        self.words = np.zeros(LOWCMD_SIZE // 4, dtype=_U32)  # the C struct as 251 uint32 words
        floats = self.words.view(_F32)
        # motor_cmd[i] is 7 words at 1 + 7 i: mode (low byte, padding zero), q, dq, tau, kp, kd, reserve
        self._motor_u = self.words[1 : 1 + 7 * NUM_MOTORS].reshape(NUM_MOTORS, 7)
        self._motor_f = floats[1 : 1 + 7 * NUM_MOTORS].reshape(NUM_MOTORS, 7)
        self._reserve = self.words[1 + 7 * NUM_MOTORS : LOWCMD_CRC_WORDS]
        self.crc = 0

    def pack(
        self,
        mode_pr: int,
        mode_machine: int,
        motors: ArrayLike,
        reserve: ArrayLike | None = None,
        motor_reserve: ArrayLike | None = None,
    ) -> int:
        """Pack a LowCmd and return its crc.

        ``motors``: ``(35, 6)`` columns ``mode, q, dq, tau, kp, kd`` (mode integral in 0..255; the
        floats are rounded to float32 as the C struct stores them). ``reserve``: 4 uint32 (default 0);
        ``motor_reserve``: 35 uint32, each MotorCmd's ``reserve`` (default 0).
        """
        m = np.asarray(motors)
        if m.shape != (NUM_MOTORS, 6):
            raise ValueError(f"motors must have shape ({NUM_MOTORS}, 6) (mode, q, dq, tau, kp, kd), got {m.shape}")
        modes = m[:, 0]
        if not (_FLOAT_MODES if modes.dtype.kind == "f" else _INT_MODES).issuperset(modes.tolist()):
            raise ValueError(f"motor modes must be integers in 0..255, got {modes}")
        words = self.words
        words[0] = _uint_field("mode_pr", mode_pr, 8) | (_uint_field("mode_machine", mode_machine, 8) << 8)
        self._motor_u[:, 0] = modes
        self._motor_f[:, 1:6] = m[:, 1:6]
        self._motor_u[:, 6] = 0 if motor_reserve is None else motor_reserve
        self._reserve[:] = 0 if reserve is None else reserve
        self.crc = _crc_of_words(words[:LOWCMD_CRC_WORDS])
        words[LOWCMD_CRC_WORDS] = self.crc
        return self.crc

    @property
    def packed(self) -> bytes:
        """The last packed LowCmd as its 1004-byte C struct (crc included)."""
        return self.words.tobytes()

    def fill_msg(self, msg: Any) -> Any:
        """Copy the last pack into ``msg`` (a ``unitree_hg.msg.LowCmd``), crc included; returns ``msg``."""
        head = int(self.words[0])
        msg.mode_pr = head & 0xFF
        msg.mode_machine = (head >> 8) & 0xFF
        modes = (self._motor_u[:, 0] & 0xFF).tolist()
        gains = self._motor_f[:, 1:6].tolist()  # exact float32 values as Python floats
        reserves = self._motor_u[:, 6].tolist()
        for cmd, mode, (q, dq, tau, kp, kd), res in zip(msg.motor_cmd, modes, gains, reserves, strict=True):
            cmd.mode = mode
            cmd.q = q
            cmd.dq = dq
            cmd.tau = tau
            cmd.kp = kp
            cmd.kd = kd
            cmd.reserve = res
        msg.reserve = self._reserve.astype(np.uint32)  # a copy: the message keeps the array
        msg.crc = self.crc
        return msg


def pack_lowcmd(
    mode_pr: int,
    mode_machine: int,
    motors: ArrayLike,
    reserve: ArrayLike | None = None,
    motor_reserve: ArrayLike | None = None,
    crc: int | None = None,
) -> bytes:
    """A LowCmd as its 1004-byte C struct; ``crc`` defaults to the computed one (see :meth:`LowCmdPacker.pack`)."""
    packer = LowCmdPacker()
    packer.pack(mode_pr, mode_machine, motors, reserve, motor_reserve)
    if crc is not None:
        packer.words[LOWCMD_CRC_WORDS] = _uint_field("crc", crc, 32)
    return packer.packed


# ---------------------------------------------------------------------------------------------------
# unitree_hg.msg messages


def pack_lowcmd_msg(msg: Any) -> bytes:
    """A ``unitree_hg.msg.LowCmd`` as its 1004-byte C struct (its current ``crc`` in the last word)."""
    buf = np.zeros((), dtype=LOWCMD_DTYPE)
    buf["mode_pr"] = msg.mode_pr
    buf["mode_machine"] = msg.mode_machine
    buf["motor_cmd"] = np.array(
        [(c.mode, c.q, c.dq, c.tau, c.kp, c.kd, c.reserve) for c in msg.motor_cmd], dtype=MOTOR_CMD_DTYPE
    )
    buf["reserve"] = msg.reserve
    buf["crc"] = msg.crc
    return buf.tobytes()


def set_lowcmd_crc(msg: Any) -> int:
    """Compute and store ``msg.crc`` for a ``unitree_hg.msg.LowCmd``; returns it."""
    msg.crc = lowcmd_crc(pack_lowcmd_msg(msg))
    return msg.crc


def verify_lowcmd_crc(msg: Any) -> bool:
    """True when ``msg.crc`` matches the message's fields."""
    return lowcmd_crc(pack_lowcmd_msg(msg)) == msg.crc


def pack_lowstate_msg(msg: Any) -> bytes:
    """A ``unitree_hg.msg.LowState`` as its 2092-byte C struct (its current ``crc`` in the last word)."""
    buf = np.zeros((), dtype=LOWSTATE_DTYPE)
    buf["version"] = msg.version
    buf["mode_pr"] = msg.mode_pr
    buf["mode_machine"] = msg.mode_machine
    buf["tick"] = msg.tick
    imu = msg.imu_state
    buf["imu_state"] = (imu.quaternion, imu.gyroscope, imu.accelerometer, imu.rpy, imu.temperature)
    buf["motor_state"] = np.array(
        [
            (s.mode, s.q, s.dq, s.ddq, s.tau_est, s.temperature, s.vol, s.sensor, s.motorstate, s.reserve)
            for s in msg.motor_state
        ],
        dtype=MOTOR_STATE_DTYPE,
    )
    buf["wireless_remote"] = msg.wireless_remote
    buf["reserve"] = msg.reserve
    buf["crc"] = msg.crc
    return buf.tobytes()


def set_lowstate_crc(msg: Any) -> int:
    """Compute and store ``msg.crc`` for a ``unitree_hg.msg.LowState`` (e.g. a simulator's); returns it."""
    msg.crc = lowstate_crc(pack_lowstate_msg(msg))
    return msg.crc


def verify_lowstate_crc(msg: Any) -> bool:
    """True when a LowState's ``crc`` matches its fields."""
    return lowstate_crc(pack_lowstate_msg(msg)) == msg.crc

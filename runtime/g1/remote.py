"""Unitree's wireless remote as carried in ``LowState.wireless_remote`` (40 bytes), with press edges.

Layout (Unitree's ``xRockerBtnDataStruct``, little-endian)::

    [0:2]   head
    [2:4]   buttons, uint16 bit mask (xKeySwitchUnion, bit 0 first):
            R1 L1 start select R2 L2 F1 F2 A B X Y up right down left
    [4:8]   lx  float32   left stick, x (right = +)
    [8:12]  rx  float32   right stick, x
    [12:16] ry  float32   right stick, y
    [16:20] L2  float32   left trigger, analog
    [20:24] ly  float32   left stick, y (forward = +)
    [24:40] idle

Operator mapping (:data:`BUTTON_TRIGGERS`; the controller picks ``start`` or ``default`` for START):

* START  -> ``start`` in ZERO_TORQUE, ``default`` elsewhere (stand up / stop walking / leave DAMPING)
* A      -> ``run``
* SELECT -> ``damp`` (wins over anything pressed in the same frame)

Sticks -> velocity command, as Unitree's ``deploy_real``: ``vx = ly``, ``vy = -lx``, ``wz = -rx``, each
scaled by ``max_cmd`` (the sticks span [-1, 1]) and clipped to +-``max_cmd``; stick values with
``|v| <= deadzone`` count as 0.

Edges: :class:`RemoteDecoder` reports a button once, on the frame it goes from released to pressed.
The first frame only primes it (a button already held when the node starts is not a press).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "BUTTON_TRIGGERS",
    "REMOTE_SIZE",
    "Button",
    "RemoteDecoder",
    "RemoteFrame",
    "RemoteState",
    "parse_wireless_remote",
    "stick_velocity",
]

REMOTE_SIZE = 40
_LAYOUT = struct.Struct("<2xH5f")  # head, buttons, lx, rx, ry, L2, ly (24 bytes)


class Button(IntEnum):
    """Bit index of each button in the uint16 mask (Unitree's ``xKeySwitchUnion``)."""

    R1 = 0
    L1 = 1
    START = 2
    SELECT = 3
    R2 = 4
    L2 = 5
    F1 = 6
    F2 = 7
    A = 8
    B = 9
    X = 10
    Y = 11
    UP = 12
    RIGHT = 13
    DOWN = 14
    LEFT = 15

    @property
    def mask(self) -> int:
        return 1 << self.value


BUTTON_TRIGGERS: dict[Button, str] = {Button.START: "start", Button.A: "run", Button.SELECT: "damp"}
"""Buttons that drive the state machine (START maps to ``default`` outside ZERO_TORQUE)."""


@dataclass(frozen=True)
class RemoteState:
    """One parsed remote frame."""

    buttons: int = 0
    lx: float = 0.0
    rx: float = 0.0
    ry: float = 0.0
    l2: float = 0.0
    ly: float = 0.0

    def held(self, button: Button) -> bool:
        return bool(self.buttons & button.mask)

    @property
    def held_buttons(self) -> frozenset[Button]:
        return frozenset(b for b in Button if self.buttons & b.mask)

    @property
    def sticks(self) -> tuple[float, float, float, float]:
        """``(lx, ly, rx, ry)``."""
        return self.lx, self.ly, self.rx, self.ry


def parse_wireless_remote(data: bytes | bytearray | memoryview | Sequence[int] | np.ndarray) -> RemoteState:
    """Parse the 40-byte ``wireless_remote`` field (bytes, a list of ints or a uint8 array)."""
    if isinstance(data, np.ndarray):
        raw = np.asarray(data, dtype=np.uint8).tobytes()
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    else:
        raw = bytes(int(b) & 0xFF for b in data)
    if len(raw) < _LAYOUT.size:
        raise ValueError(f"wireless_remote needs at least {_LAYOUT.size} bytes (40 sent), got {len(raw)}")
    buttons, lx, rx, ry, l2, ly = _LAYOUT.unpack_from(raw)
    return RemoteState(buttons, lx, rx, ry, l2, ly)


def _dead(v: float, deadzone: float) -> float:
    return 0.0 if abs(v) <= deadzone else v  # NaN passes through


def stick_velocity(state: RemoteState, max_cmd: ArrayLike, deadzone: float = 0.0) -> np.ndarray:
    """``(vx, vy, wz)`` from the sticks: ``(ly, -lx, -rx) x max_cmd``, clipped to +-``max_cmd``."""
    mx = np.abs(np.asarray(max_cmd, dtype=np.float64).reshape(3))
    sticks = np.array([_dead(state.ly, deadzone), -_dead(state.lx, deadzone), -_dead(state.rx, deadzone)])
    return np.clip(sticks * mx, -mx, mx)


@dataclass(frozen=True)
class RemoteFrame:
    """One frame: parsed state, new presses, velocity sticks (lx, ly, rx) out of the deadzone / just released."""

    state: RemoteState
    pressed: frozenset[Button]
    sticks_active: bool
    sticks_released: bool

    def triggers(self) -> list[str]:
        """Operator triggers for the new presses, ``damp`` first (START as ``start``)."""
        if Button.SELECT in self.pressed:
            return ["damp"]
        return [BUTTON_TRIGGERS[b] for b in (Button.START, Button.A) if b in self.pressed]


class RemoteDecoder:
    """Parses frames and turns held buttons into press events (rising edges)."""

    def __init__(self, deadzone: float = 0.05) -> None:
        self.deadzone = deadzone
        self._prev: int | None = None
        self._sticks_were_active = False
        self.frames = 0

    def reset(self) -> None:
        """Forget the previous frame: the next one primes again."""
        self._prev = None
        self._sticks_were_active = False

    def update(self, data: bytes | bytearray | memoryview | Sequence[int] | np.ndarray) -> RemoteFrame:
        state = parse_wireless_remote(data)
        pressed = (
            frozenset() if self._prev is None else frozenset(b for b in Button if state.buttons & ~self._prev & b.mask)
        )
        self._prev = state.buttons
        self.frames += 1
        active = any(not abs(v) <= self.deadzone for v in (state.lx, state.ly, state.rx))  # NaN: active
        released = self._sticks_were_active and not active
        self._sticks_were_active = active
        return RemoteFrame(state, pressed, active, released)

"""Unitree wireless remote parsing from hand-built 40-byte buffers, press edges, stick velocity."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from runtime.g1.remote import (
    REMOTE_SIZE,
    Button,
    RemoteDecoder,
    parse_wireless_remote,
    stick_velocity,
)

MAX_CMD = (0.8, 0.5, 1.57)


def remote_bytes(
    buttons: int = 0, lx: float = 0.0, rx: float = 0.0, ry: float = 0.0, l2: float = 0.0, ly: float = 0.0
) -> bytes:
    """A 40-byte ``wireless_remote`` built field by field at Unitree's offsets."""
    buf = bytearray(REMOTE_SIZE)
    buf[0:2] = b"\xfe\xef"  # head: arbitrary, ignored
    buf[2:4] = buttons.to_bytes(2, "little")
    buf[4:8] = struct.pack("<f", lx)
    buf[8:12] = struct.pack("<f", rx)
    buf[12:16] = struct.pack("<f", ry)
    buf[16:20] = struct.pack("<f", l2)
    buf[20:24] = struct.pack("<f", ly)
    buf[24:40] = b"\xaa" * 16  # idle: ignored
    return bytes(buf)


def test_button_bits_follow_unitree_key_switch_union() -> None:
    names = ["R1", "L1", "START", "SELECT", "R2", "L2", "F1", "F2", "A", "B", "X", "Y", "UP", "RIGHT", "DOWN", "LEFT"]
    assert [b.name for b in sorted(Button)] == names
    assert (Button.START.mask, Button.SELECT.mask, Button.A.mask) == (1 << 2, 1 << 3, 1 << 8)


@pytest.mark.parametrize("button", list(Button))
def test_each_button_alone(button: Button) -> None:
    state = parse_wireless_remote(remote_bytes(buttons=1 << button.value))
    assert state.held_buttons == {button}
    assert state.held(button)


def test_button_mask_is_little_endian_bytes_2_3() -> None:
    buf = bytearray(REMOTE_SIZE)
    buf[2] = 0b0000_0100  # start
    buf[3] = 0b0000_0001  # A (bit 8)
    state = parse_wireless_remote(bytes(buf))
    assert state.held_buttons == {Button.START, Button.A}
    buf[0], buf[1], buf[4] = 0xFF, 0xFF, 0x00  # head bytes do not leak into the mask
    assert parse_wireless_remote(bytes(buf)).buttons == 0x0104


def test_sticks_at_their_offsets() -> None:
    state = parse_wireless_remote(remote_bytes(lx=0.25, rx=-0.5, ry=0.75, l2=0.125, ly=-1.0))
    assert (state.lx, state.rx, state.ry, state.l2, state.ly) == (0.25, -0.5, 0.75, 0.125, -1.0)


def test_input_kinds_and_short_buffer() -> None:
    raw = remote_bytes(buttons=Button.A.mask, ly=0.5)
    for data in (raw, bytearray(raw), list(raw), np.frombuffer(raw, np.uint8), memoryview(raw)):
        state = parse_wireless_remote(data)
        assert state.held(Button.A) and state.ly == 0.5
    with pytest.raises(ValueError, match="at least 24 bytes"):
        parse_wireless_remote(raw[:20])


def test_stick_velocity_signs_scale_and_clip() -> None:
    # forward on ly -> +vx; right on lx -> -vy; right on rx -> -wz (Unitree deploy_real)
    v = stick_velocity(parse_wireless_remote(remote_bytes(ly=0.5, lx=0.5, rx=0.5)), MAX_CMD)
    np.testing.assert_allclose(v, [0.4, -0.25, -0.785])
    v = stick_velocity(parse_wireless_remote(remote_bytes(ly=-1.0, lx=-1.0, rx=-1.0)), MAX_CMD)
    np.testing.assert_allclose(v, [-0.8, 0.5, 1.57])
    v = stick_velocity(parse_wireless_remote(remote_bytes(ly=3.0, lx=-7.0, rx=9.0)), MAX_CMD)
    np.testing.assert_allclose(v, [0.8, 0.5, -1.57])  # clipped to +-max_cmd
    v = stick_velocity(parse_wireless_remote(remote_bytes(ly=0.04, lx=0.5)), MAX_CMD, deadzone=0.05)
    np.testing.assert_allclose(v, [0.0, -0.25, 0.0])
    v = stick_velocity(parse_wireless_remote(remote_bytes(ly=math.nan)), MAX_CMD)
    assert math.isnan(v[0])  # passed on, for the safety check to catch


def test_edges_press_once_and_first_frame_primes() -> None:
    dec = RemoteDecoder()
    start, a, select = Button.START.mask, Button.A.mask, Button.SELECT.mask
    assert dec.update(remote_bytes(buttons=start)).pressed == frozenset()  # held at startup: not a press
    assert dec.update(remote_bytes(buttons=start)).pressed == frozenset()
    assert dec.update(remote_bytes()).pressed == frozenset()  # release
    f = dec.update(remote_bytes(buttons=start))
    assert f.pressed == {Button.START} and f.triggers() == ["start"]
    f = dec.update(remote_bytes(buttons=start | a))  # start still held, A new
    assert f.pressed == {Button.A} and f.triggers() == ["run"]
    assert dec.update(remote_bytes(buttons=start | a)).pressed == frozenset()
    f = dec.update(remote_bytes(buttons=start | a | select))
    assert f.triggers() == ["damp"]
    f = dec.update(remote_bytes())
    assert f.pressed == frozenset() and f.triggers() == []
    f = dec.update(remote_bytes(buttons=select | start | Button.B.mask))
    assert f.triggers() == ["damp"]  # select wins over start pressed in the same frame
    dec.reset()
    assert dec.update(remote_bytes(buttons=a)).pressed == frozenset()


def test_sticks_active_and_released_edges() -> None:
    dec = RemoteDecoder(deadzone=0.05)
    f = dec.update(remote_bytes(ly=0.02, ry=0.9))  # ry is not a velocity stick; ly inside deadzone
    assert not f.sticks_active and not f.sticks_released
    f = dec.update(remote_bytes(ly=0.3))
    assert f.sticks_active and not f.sticks_released
    f = dec.update(remote_bytes(ly=0.01))
    assert not f.sticks_active and f.sticks_released
    f = dec.update(remote_bytes())
    assert not f.sticks_active and not f.sticks_released
    assert dec.update(remote_bytes(rx=math.nan)).sticks_active

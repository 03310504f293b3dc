"""G1 LowCmd CRC benchmark: time per message (mean / p99) to pack + CRC a LowCmd, for runtime.g1.crc
against a bitwise reference (Unitree's crc32_core loop in Python over struct-packed bytes).

Rows: the numpy fast path (LowCmdPacker.pack), the same plus copying into a unitree_hg LowCmd
message (fill_msg), CRC of an already-packed struct, set_lowcmd_crc on a message, and the
reference. At 500 Hz a LowCmd is due every 2000 us.

Usage: python bench/crc.py [--iterations 20000]
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runtime.g1.crc import LowCmdPacker, lowcmd_crc, set_lowcmd_crc  # noqa: E402
from runtime.g1.lowcmd_layout import LOWCMD_STRUCT_FORMAT  # noqa: E402
from tests.g1.test_crc import reference_crc32_core  # noqa: E402  (the test's independent bitwise reference)


def reference_pack_and_crc(mode_pr: int, mode_machine: int, motors: np.ndarray) -> int:
    values: list[float | int] = [mode_pr, mode_machine]
    for row in motors.tolist():
        values += [int(row[0]), *row[1:], 0]
    values += [0, 0, 0, 0, 0]
    return reference_crc32_core(struct.pack(LOWCMD_STRUCT_FORMAT, *values)[:1000])


def measure(fn: Callable[[], object], iterations: int) -> tuple[float, float]:
    """(mean, p99) in microseconds over ``iterations`` calls, after a short warm-up."""
    for _ in range(min(100, iterations)):
        fn()
    times = np.empty(iterations)
    clock = time.perf_counter_ns
    for i in range(iterations):
        t0 = clock()
        fn()
        times[i] = clock() - t0
    times /= 1000.0
    return float(times.mean()), float(np.percentile(times, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=20000)
    args = parser.parse_args()
    n = args.iterations

    rng = np.random.default_rng(0)
    motors = np.column_stack([np.ones(35), rng.normal(0.0, 1.0, (35, 5))])
    packer = LowCmdPacker()
    expected = reference_pack_and_crc(0, 5, motors)
    assert packer.pack(0, 5, motors) == expected, "fast path disagrees with the reference"
    packed = packer.packed

    rows: list[tuple[str, float, float]] = []
    rows.append(("pack + crc, numpy fast path (LowCmdPacker.pack)", *measure(lambda: packer.pack(0, 5, motors), n)))
    rows.append(("crc of a packed 1004-byte struct (lowcmd_crc)", *measure(lambda: lowcmd_crc(packed), n)))
    try:
        from unitree_hg.msg import LowCmd
    except ImportError:
        print("(unitree_hg not built: message rows skipped; run scripts/build_ros_interfaces.sh)")
    else:
        msg = packer.fill_msg(LowCmd())

        def pack_and_fill() -> None:
            packer.pack(0, 5, motors)
            packer.fill_msg(msg)

        rows.append(("pack + crc + fill a LowCmd message", *measure(pack_and_fill, n)))
        rows.append(("set_lowcmd_crc(msg) (pack from message + crc)", *measure(lambda: set_lowcmd_crc(msg), n)))
    ref_n = max(20, n // 200)
    rows.append(
        (
            f"reference: struct.pack + bitwise crc32_core ({ref_n} runs)",
            *measure(lambda: reference_pack_and_crc(0, 5, motors), ref_n),
        )
    )

    width = max(len(r[0]) for r in rows)
    print(f"G1 LowCmd pack + CRC, per message ({n} iterations; 500 Hz budget 2000 us)")
    print(f"{'':{width}}  {'mean us':>9}  {'p99 us':>9}")
    for label, mean, p99 in rows:
        print(f"{label:{width}}  {mean:9.1f}  {p99:9.1f}")
    speedup = rows[-1][1] / rows[0][1]
    print(f"fast path is {speedup:.0f}x faster than the bitwise reference")


if __name__ == "__main__":
    main()

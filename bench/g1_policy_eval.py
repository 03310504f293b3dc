"""Evaluate G1 velocity policies on the ground: seconds upright, vx tracking error, distance walked.

Each policy directory is loaded with the REAL deploy adapter (``load_velocity_policy``) and drives
:class:`runtime.sim.g1_sim.G1Sim` in-process (no ROS, stepped as fast as possible): every control
period (``control_dt``, 50 Hz) the adapter builds the observation from ``G1Sim.state()`` (pelvis IMU
quaternion and gyro, 29 motor q/dq, ``t = k x control_dt``) and its 29-motor targets/gains are
latched with ``set_command``; G1Sim runs its PD per physics step (model timestep, 2 ms) with all
meshes colliding. The robot starts on the floor at rest, legs at ``default_angles``. Upper body:
by default the full 29-DoF robot with waist and arms held by the adapter's ``arm_waist`` gains at
``arm_waist_target``; ``--weld-upper-body`` welds them there instead (the training model).

Fallen: pelvis below 0.55 m or tilted past ~45 degrees. Tracking error: mean |vx - cmd| of the
pelvis forward velocity (heading frame) while upright, after the first second. Forward: displacement
of the pelvis along its initial heading while upright; path: the length of its horizontal track;
yaw: the heading change (a policy that walks in circles has a long path, little forward, large yaw).
``--push V``: the pelvis gets a V m/s kick forward at 5 s, sideways at 10 s and backward at 15 s
(added to its free-joint velocity), a robustness check.

Usage: python bench/g1_policy_eval.py --policy DIR [--policy DIR2] [--standin] [--seconds 20] [--vx 0 0.3 0.5]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runtime.g1.orientation import quat_to_rpy  # noqa: E402
from runtime.g1.training.env import training_pose  # noqa: E402
from runtime.g1.velocity_policy_init import init_velocity_policy  # noqa: E402
from runtime.policies.onnx_metadata.locomotion import projected_gravity  # noqa: E402
from runtime.policies.unitree_velocity import G1_NUM_MOTORS, load_velocity_policy  # noqa: E402
from runtime.sim.g1_sim import G1Sim  # noqa: E402

MIN_HEIGHT = 0.55
MAX_TILT_GZ = -0.7
SETTLE_S = 1.0


def _heading_velocity(quat: np.ndarray, vel_world: np.ndarray) -> float:
    yaw = quat_to_rpy(quat)[2]
    return float(math.cos(yaw) * vel_world[0] + math.sin(yaw) * vel_world[1])


PUSHES = ((5.0, (1.0, 0.0)), (10.0, (0.0, 1.0)), (15.0, (-1.0, 0.0)))  # (time s, xy direction)


def evaluate(
    policy_dir: str | Path,
    vx: float,
    seconds: float,
    weld_upper_body: bool = False,
    push: float = 0.0,
    vy: float = 0.0,
    wz: float = 0.0,
) -> dict:
    """Run one policy at command (``vx``, ``vy``, ``wz``) for up to ``seconds``; upright time, tracking error, track."""
    policy = load_velocity_policy(policy_dir)
    policy.reset()
    sim = G1Sim(weld_upper_body=weld_upper_body, initial_q=training_pose(policy.config), state_rate_hz=None)
    dt = policy.control_dt
    substeps = max(1, round(dt / sim.dt))
    mode = np.ones(G1_NUM_MOTORS)
    zeros = np.zeros(G1_NUM_MOTORS)
    cmd = (vx, vy, wz)
    first = sim.state()
    start, yaw0 = first.base_position.copy(), quat_to_rpy(first.base_quaternion)[2]
    last = start.copy()
    errors: list[float] = []
    upright_s, forward, path, yaw = seconds, 0.0, 0.0, 0.0
    track: list[tuple[float, float]] = []  # (forward, left) of the pelvis in the start frame, every 0.1 s
    every = max(1, round(0.1 / dt))
    kicks = {round(t / dt): np.asarray(xy) * push for t, xy in PUSHES} if push else {}
    try:
        for k in range(round(seconds / dt)):
            if k in kicks:
                sim.data.qvel[:2] += kicks[k]  # the free joint's linear velocity (world frame)
            st = sim.state()
            if st.base_position[2] < MIN_HEIGHT or projected_gravity(st.base_quaternion)[2] > MAX_TILT_GZ:
                upright_s = k * dt
                break
            moved = st.base_position - start
            forward = math.cos(yaw0) * moved[0] + math.sin(yaw0) * moved[1]
            if k % every == 0:
                track.append((round(forward, 3), round(-math.sin(yaw0) * moved[0] + math.cos(yaw0) * moved[1], 3)))
            path += float(np.linalg.norm(st.base_position[:2] - last[:2]))
            last = st.base_position.copy()
            yaw = math.remainder(quat_to_rpy(st.base_quaternion)[2] - yaw0, math.tau)
            if k * dt >= SETTLE_S:
                errors.append(abs(_heading_velocity(st.base_quaternion, st.base_linear_velocity) - vx))
            out = policy.step(st.q[:G1_NUM_MOTORS], st.dq[:G1_NUM_MOTORS], st.quaternion, st.gyroscope, cmd, k * dt)
            sim.set_command(mode, out.q, zeros, zeros, out.kp, out.kd)
            sim.step(substeps)
    finally:
        sim.close()
    return {
        "vx_cmd": vx,
        "upright_s": round(upright_s, 2),
        "fell": upright_s < seconds,
        "vx_tracking_error": round(float(np.mean(errors)), 3) if errors else None,
        "forward_m": round(forward, 3),
        "path_m": round(path, 3),
        "yaw_deg": round(math.degrees(yaw), 1),
        "track": track,
    }


def tracks_svg(runs: list[tuple[str, dict]], title: str) -> str:
    """Top-down pelvis tracks (start frame: forward to the right, left up), one polyline per run, 1 m grid."""
    points = [p for _, r in runs for p in r["track"]] or [(0.0, 0.0)]
    lo_x, hi_x = min(0.0, *(p[0] for p in points)) - 0.5, max(1.0, *(p[0] for p in points)) + 0.5
    lo_y, hi_y = min(-0.5, *(p[1] for p in points)) - 0.5, max(0.5, *(p[1] for p in points)) + 0.5
    scale, pad = 80.0, 30.0
    width, height = (hi_x - lo_x) * scale + 2 * pad, (hi_y - lo_y) * scale + 2 * pad + 16 * len(runs)

    def px(x: float, y: float) -> str:
        return f"{pad + (x - lo_x) * scale:.1f},{pad + (hi_y - y) * scale:.1f}"

    colors = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}"><title>{title}</title>',
        '<rect width="100%" height="100%" fill="#fff"/>',
        f'<text x="{pad}" y="18" style="font:600 12px sans-serif">{title}</text>',
    ]
    for gx in range(math.ceil(lo_x), math.floor(hi_x) + 1):
        out.append(f'<polyline points="{px(gx, lo_y)} {px(gx, hi_y)}" stroke="#eee" fill="none"/>')
        out.append(
            f'<text x="{px(gx, lo_y).split(",")[0]}" y="{pad + (hi_y - lo_y) * scale + 12:.0f}" '
            f'style="font:10px sans-serif" text-anchor="middle">{gx} m</text>'
        )
    for gy in range(math.ceil(lo_y), math.floor(hi_y) + 1):
        out.append(f'<polyline points="{px(lo_x, gy)} {px(hi_x, gy)}" stroke="#eee" fill="none"/>')
    for i, (label, r) in enumerate(runs):
        color = colors[i % len(colors)]
        line = " ".join(px(x, y) for x, y in r["track"])
        out.append(f'<polyline points="{line}" stroke="{color}" stroke-width="2" fill="none"/>')
        y_text = pad + (hi_y - lo_y) * scale + 30 + 16 * i
        out.append(f'<text x="{pad}" y="{y_text:.0f}" style="font:11px sans-serif" fill="{color}">{label}</text>')
    return "\n".join([*out, "</svg>"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", action="append", default=[], help="policy directory (repeatable)")
    parser.add_argument("--standin", action="store_true", help="also evaluate the untrained stand-in (init-policy)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--vx", type=float, nargs="+", default=[0.0, 0.3, 0.5])
    parser.add_argument("--vy", type=float, default=0.0, help="sideways command of every run (m/s)")
    parser.add_argument("--wz", type=float, default=0.0, help="yaw-rate command of every run (rad/s)")
    parser.add_argument("--weld-upper-body", action="store_true", help="weld waist/arms (default: held by gains)")
    parser.add_argument("--push", type=float, default=0.0, help="pelvis kicks of this many m/s at 5, 10, 15 s")
    parser.add_argument("--json", action="store_true", help="print one JSON line per run too")
    parser.add_argument("--svg", help="write the top-down pelvis tracks of all runs to this SVG file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="g1-eval-") as tmp:
        runs = [("stand-in", init_velocity_policy(Path(tmp) / "standin"))] if args.standin else []
        runs += [(Path(p).name, Path(p)) for p in args.policy]
        if not runs:
            parser.error("give --policy DIR and/or --standin")
        upper = "welded" if args.weld_upper_body else "held by arm_waist gains"
        pushes = f", {args.push:g} m/s pushes at 5/10/15 s" if args.push else ""
        turn = f", vy {args.vy:g} m/s, wz {args.wz:g} rad/s" if args.vy or args.wz else ""
        print(f"G1Sim on the ground, upper body {upper}, {args.seconds:g} s per run{pushes}{turn}")
        head = f"{'policy':<16} {'vx cmd':>6} {'upright s':>10} {'|vx-cmd|':>9} {'forward m':>10} {'path m':>7}"
        print(f"{head} {'yaw deg':>8}")
        drawn: list[tuple[str, dict]] = []
        for name, path in runs:
            for vx in args.vx:
                r = evaluate(path, vx, args.seconds, args.weld_upper_body, args.push, args.vy, args.wz)
                err = "-" if r["vx_tracking_error"] is None else f"{r['vx_tracking_error']:.3f}"
                line = f"{name:<16} {vx:6.2f} {r['upright_s']:10.2f} {err:>9} {r['forward_m']:10.3f} {r['path_m']:7.2f}"
                print(f"{line} {r['yaw_deg']:8.1f}", flush=True)
                fell = f", FELL at {r['upright_s']:.2f} s" if r["fell"] else ""
                label = f"{name} vx {vx:g}: {r['forward_m']:.2f} m forward, yaw {r['yaw_deg']:+.0f} deg{fell}"
                drawn.append((label, r))
                if args.json:
                    print(json.dumps({"policy": str(path), **{k: v for k, v in r.items() if k != "track"}}))
        if args.svg:
            title = f"G1Sim pelvis tracks, {args.seconds:g} s per run, upper body {upper}{pushes}{turn}"
            Path(args.svg).write_text(tracks_svg(drawn, title))
            print(f"tracks: {args.svg}")


if __name__ == "__main__":
    main()

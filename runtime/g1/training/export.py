"""Write a trained policy directory: ``policy.onnx`` + ``deploy.yaml`` + ``training.json`` + ``training.svg``.

The ONNX and YAML go through :func:`runtime.g1.velocity_policy_init.write_policy_dir`, so the
directory loads with :func:`runtime.policies.unitree_velocity.load_velocity_policy` exactly like the
stand-in. ``training.svg`` draws the curve (episode length, return, tracking error) without a plotting library.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from torch import nn

from runtime.g1.training.curve_svg import training_curve_svg
from runtime.g1.velocity_policy_init import metadata_properties, write_policy_dir

REPORT_FILE = "training.json"
CURVE_FILE = "training.svg"
MAX_CURVE_POINTS = 200


def trained_deploy_config(
    deploy: dict[str, Any], sim_dt: float, decimation: int, command_ranges: list[tuple[float, float]] | None = None
) -> dict[str, Any]:
    """The deploy values the policy was trained with, timing keys set to the training sim.

    ``command_ranges`` ((lo, hi) of vx, vy, wz as last trained): ``max_cmd`` becomes that envelope, so
    sliders, sticks and ``/cmd_vel`` cannot ask the policy for more than it learned.
    """
    config = dict(deploy)
    config["simulation_dt"] = sim_dt
    config["control_decimation"] = decimation
    config["control_dt"] = round(sim_dt * decimation, 6)
    if command_ranges is not None:
        config["max_cmd"] = [round(max(abs(lo), abs(hi)), 4) for lo, hi in command_ranges]
    return config


def downsample(history: list[dict[str, Any]], points: int = MAX_CURVE_POINTS) -> list[dict[str, Any]]:
    """At most ``points`` evenly spaced entries of ``history`` (always keeping the last)."""
    if len(history) <= points:
        return list(history)
    step = len(history) / points
    picked = [history[int(i * step)] for i in range(points - 1)]
    return [*picked, history[-1]]


def export_policy(out_dir: str | Path, actor: nn.Module, deploy: dict[str, Any], report: dict[str, Any]) -> Path:
    """Write the deployable directory for ``actor`` (obs [1, 47] -> actions [1, 12]) and its report."""
    out = Path(out_dir).expanduser()
    module = copy.deepcopy(actor).cpu().eval()
    metadata = metadata_properties(deploy, int(report.get("seed", 0)), False)
    metadata["description"] = (
        f"PPO-trained MLP (runrobot g1 train): {report.get('iterations', 0)} iterations, "
        f"{report.get('env_steps', 0)} env steps in MuJoCo"
    )
    upper = "welded" if report.get("env", {}).get("weld_upper_body") else "held by the arm_waist gains"
    header = (
        f"# PPO-TRAINED G1 velocity policy written by runrobot g1 train ({report.get('iterations', 0)} iterations, "
        f"{report.get('env_steps', 0)} env steps).\n"
        f"# Trained in MuJoCo (Menagerie G1, 12 leg actions, waist/arms {upper} at arm_waist_target); "
        "see training.json.\n"
        "# Values: Unitree G1 deploy config (unitree_rl_gym deploy/deploy_real/configs/g1.yaml); "
        "max_cmd: the command envelope trained on.\n"
    )
    write_policy_dir(out, module, deploy, metadata, header)
    report = {**report, "curve": downsample(report.get("curve", []))}
    report.pop("png", None)
    (out / CURVE_FILE).write_text(training_curve_svg(report["curve"], metadata["description"]))
    (out / REPORT_FILE).write_text(json.dumps(report, indent=1, default=str))
    return out

"""``runrobot g1``: project-relative paths resolve from any directory; option precedence."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from runrobot.commands.g1 import LOWCMD_DEFAULTS, resolve_config_path, resolve_options, resolve_policy_dir
from runtime import CONFIG_DIR
from runtime.policies.unitree_velocity import load_velocity_policy


def test_project_paths_resolve_from_another_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_config_path("config/g1/lowcmd.yaml") == CONFIG_DIR / "g1" / "lowcmd.yaml"
    shipped = Path(resolve_policy_dir("config/g1/trained_policy"))
    assert shipped == CONFIG_DIR / "g1" / "trained_policy"
    assert (shipped / "policy.onnx").is_file() and (shipped / "deploy.yaml").is_file()
    # A directory of the user's own wins over the project's; a file is not a policy directory.
    (tmp_path / "config" / "g1" / "trained_policy").mkdir(parents=True)
    assert Path(resolve_policy_dir("config/g1/trained_policy")) == Path("config/g1/trained_policy")
    assert resolve_policy_dir("config/g1/lowcmd.yaml") == "config/g1/lowcmd.yaml"  # left for the loader to reject
    with pytest.raises(FileNotFoundError, match="parameter file 'config/g1/nope.yaml' not found"):
        resolve_config_path("config/g1/nope.yaml")


def test_command_line_beats_parameter_file_beats_defaults(tmp_path: Path) -> None:
    params = tmp_path / "lowcmd.yaml"
    params.write_text("rate: 250\npolicy-missed-periods: 4\nremote: 'false'\n")
    args = argparse.Namespace(config=str(params), rate=400.0, policy_missed_periods=None, remote=None)
    opts = resolve_options(args, LOWCMD_DEFAULTS)
    assert opts["rate"] == 400.0 and opts["policy_missed_periods"] == 4 and opts["remote"] is False
    assert opts["move_time"] == LOWCMD_DEFAULTS["move_time"]
    params.write_text("rat: 250\n")
    with pytest.raises(ValueError, match=r"unknown parameters \['rat'\]"):
        resolve_options(argparse.Namespace(config=str(params)), LOWCMD_DEFAULTS)


def test_train_takes_the_walking_recipe_from_the_command_line(tmp_path: Path) -> None:
    """``runrobot g1 train`` as a user runs it: reward weights, command ranges and sigma reach the trainer."""
    import json
    import subprocess
    import sys

    out = tmp_path / "policy"
    base = [sys.executable, "-m", "runrobot", "g1", "train", "--out", str(out), "--iterations", "1"]
    recipe = ["--envs", "2", "--steps", "4", "--reward", "tracking_ang_vel=2.0", "--reward", "feet_air_time=1.5"]
    recipe += ["--vx-range", "0", "0.6", "--tracking-sigma", "0.1", "--zero-command-share", "0.1"]
    recipe += ["--learning-rate", "3e-4", "--start-level", "1"]
    done = subprocess.run([*base, *recipe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((out / "training.json").read_text())
    assert report["reward_scales"]["tracking_ang_vel"] == 2.0 and report["reward_scales"]["feet_air_time"] == 1.5
    assert report["reward_scales"]["tracking_lin_vel"] == 2.0  # untouched default
    assert report["env"]["vx_range"] == [0.0, 0.6] and report["env"]["tracking_sigma"] == 0.1
    assert report["env"]["zero_command_share"] == 0.1 and report["ppo"]["learning_rate"] == 3e-4
    # max_cmd is the envelope it was trained on (vy, wz: the default ranges), so no input can ask for more.
    policy = load_velocity_policy(out)
    assert list(policy.max_cmd) == pytest.approx([0.6, 0.2, 0.5])

    bad = subprocess.run([*base, "--reward", "tracking_yaw=1"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "unknown reward term(s) ['tracking_yaw']" in bad.stderr, bad.stderr[-2000:]
    bad = subprocess.run([*base, "--reward", "tracking_ang_vel"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "--reward wants TERM=WEIGHT" in bad.stderr, bad.stderr[-2000:]


def test_sim_catch_up_option_reaches_the_sim_and_zero_is_an_error() -> None:
    from runrobot.commands.g1 import SIM_DEFAULTS
    from runtime.ros.g1_sim_node import build_sim

    sim = build_sim({**SIM_DEFAULTS, "fixed_base": True, "max_catch_up": 0.05})
    assert sim._realtime.max_batch == round(0.05 / sim.dt)
    with pytest.raises(ValueError, match="max_catch_up_s must be > 0"):
        build_sim({**SIM_DEFAULTS, "max_catch_up": 0})

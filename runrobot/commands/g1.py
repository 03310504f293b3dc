"""``runrobot g1 {lowcmd,sim,init-policy,train}``: the Unitree G1 low-level controller, its MuJoCo stand-in, policies.

* ``runrobot g1 lowcmd --policy DIR``: passive -> standing -> walking under the RL velocity policy,
  ``unitree_hg`` on ``/lowcmd`` / ``/lowstate`` (see :mod:`runtime.ros.g1_lowcmd_node`).
* ``runrobot g1 sim``: the simulated G1 speaking the same topics (see :mod:`runtime.ros.g1_sim_node`).
* ``runrobot g1 init-policy --out DIR``: the untrained stand-in policy directory.
* ``runrobot g1 train --out DIR``: train a velocity policy with PPO in MuJoCo (see :mod:`runtime.g1.training`).

Options may also come from a YAML parameter file (``--config``, e.g. ``config/g1/lowcmd.yaml``): keys
are option names (``policy_rate`` or ``policy-rate``); options given on the command line win.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

LOWCMD_DEFAULTS: dict[str, Any] = {
    "rate": 500.0,
    "policy_rate": None,  # 1 / the policy's control_dt (50 Hz)
    "status_rate": 10.0,
    "move_time": 2.0,
    "lowstate_timeout": 0.05,
    "policy_missed_periods": 2,
    "damping_kd": 8.0,
    "joint_limit_margin": 0.0,
    "remote": True,
    "realtime": True,
    "reject_bad_lowstate_crc": False,
    "stats_window": 2000,
    "spin": 0.0004,
    "settle_samples": 25,
    "limits_model": None,
    "duration": 0.0,
}
SIM_DEFAULTS: dict[str, Any] = {
    "fixed_base": False,
    "weld_upper_body": False,
    "model": None,
    "freeze": False,
    "rate": 500.0,
    "status_rate": 10.0,
    "pose_rate": 50.0,
    "max_catch_up": 0.02,
    "duration": 0.0,
}


def parse_bool(text: str | bool) -> bool:
    """``true/false/1/0/yes/no/on/off`` (for flags set from launch arguments)."""
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _flag(p: argparse.ArgumentParser, name: str, help_text: str) -> None:
    """``--name`` (true), ``--name false`` (launch files pass a value), unset -> parameter file/default."""
    p.add_argument(name, nargs="?", const=True, default=None, type=parse_bool, metavar="BOOL", help=help_text)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("g1", help="Unitree G1: low-level controller, MuJoCo simulator, stand-in policy")
    gsub = p.add_subparsers(dest="g1_command", required=True)

    lc = gsub.add_parser("lowcmd", help="run the G1 lowcmd controller (unitree_hg /lowstate -> /lowcmd)")
    lc.add_argument(
        "--policy",
        required=True,
        help="velocity policy directory (policy.onnx + deploy.yaml), e.g. config/g1/trained_policy (stands and walks)",
    )
    lc.add_argument("--config", help="YAML parameter file (e.g. config/g1/lowcmd.yaml)")
    lc.add_argument("--rate", type=float, help="LowCmd publish rate, Hz (500)")
    lc.add_argument("--policy-rate", type=float, help="policy rate, Hz (default 1 / control_dt: 50)")
    lc.add_argument("--status-rate", type=float, help="/g1/status rate, Hz (10)")
    lc.add_argument("--move-time", type=float, help="MOVE_TO_DEFAULT interpolation time, s (2)")
    lc.add_argument("--lowstate-timeout", type=float, help="/lowstate age that damps, s (0.05)")
    lc.add_argument("--policy-missed-periods", type=int, help="policy periods without output that damp (2)")
    lc.add_argument("--damping-kd", type=float, help="kd of the damping command (8)")
    lc.add_argument("--joint-limit-margin", type=float, help="shrink the joint ranges by this, rad (0)")
    lc.add_argument("--limits-model", help="MJCF to read joint ranges from (default: Menagerie g1.xml)")
    _flag(lc, "--remote", "act on the wireless remote in LowState (default true)")
    _flag(lc, "--realtime", "ask for SCHED_FIFO on the loop threads where permitted (default true)")
    _flag(lc, "--reject-bad-lowstate-crc", "drop LowStates whose CRC is wrong (default: count them only)")
    lc.add_argument("--stats-window", type=int, help="samples kept for the timing percentiles (2000)")
    lc.add_argument("--spin", type=float, help="busy-wait before each loop deadline, s (0.0004)")
    lc.add_argument("--settle-samples", type=int, help="steady LowStates before leaving WAIT_STATE (25)")
    lc.add_argument("--duration", type=float, help="seconds (0 = until Ctrl-C)")
    lc.set_defaults(func=run_lowcmd)

    sim = gsub.add_parser("sim", help="run the simulated G1 (MuJoCo) on unitree_hg /lowcmd -> /lowstate")
    sim.add_argument("--config", help="YAML parameter file (e.g. config/g1/sim.yaml)")
    _flag(sim, "--fixed-base", "hang the pelvis from a gantry")
    _flag(sim, "--weld-upper-body", "weld the waist and arms (12-DoF legs only)")
    sim.add_argument("--model", help="MJCF scene (default: Menagerie unitree_g1/scene.xml)")
    _flag(sim, "--freeze", "hold the robot still until /g1/sim/release (or POST /g1/sim/release)")
    sim.add_argument("--rate", type=float, help="LowState rate, Hz (500)")
    sim.add_argument("--status-rate", type=float, help="/g1/sim/status rate, Hz (10)")
    sim.add_argument("--pose-rate", type=float, help="/g1/sim/pose rate, Hz (50)")
    sim.add_argument("--max-catch-up", type=float, help="physics made up after a stall, s (0.02); beyond, it pauses")
    sim.add_argument("--duration", type=float, help="seconds (0 = until Ctrl-C)")
    sim.set_defaults(func=run_sim)

    ip = gsub.add_parser("init-policy", help="write the UNTRAINED stand-in velocity policy (policy.onnx + deploy.yaml)")
    ip.add_argument("--out", required=True, help="directory to write")
    ip.add_argument("--recurrent", action="store_true", help="the LSTM variant (h/c state inputs)")
    ip.add_argument("--seed", type=int, default=0)
    ip.set_defaults(func=run_init_policy)

    tr = gsub.add_parser("train", help="train a velocity policy with PPO in MuJoCo (CPU) and export it")
    tr.add_argument("--out", required=True, help="directory for the exported policy and checkpoints/")
    tr.add_argument("--minutes", type=float, help="stop after this much wall time")
    tr.add_argument("--iterations", type=int, help="stop after this many PPO iterations (total, with --resume)")
    tr.add_argument("--envs", type=int, default=32, help="parallel simulated robots (32)")
    tr.add_argument("--steps", type=int, default=32, help="policy steps per robot per iteration (32)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--resume", help="training directory (or .pt) to continue from")
    tr.add_argument("--checkpoint-minutes", type=float, default=5.0, help="checkpoint + export period (5)")
    tr.add_argument("--start-level", type=float, default=0.0, help="initial command range share (0: stand only)")
    tr.add_argument("--learning-rate", type=float, help="learning rate to start from, also on --resume")
    tr.add_argument("--vx-range", type=float, nargs=2, metavar=("LO", "HI"), help="forward commands, m/s (-0.3 0.5)")
    tr.add_argument("--vy-range", type=float, nargs=2, metavar=("LO", "HI"), help="sideways commands, m/s (-0.2 0.2)")
    tr.add_argument("--wz-range", type=float, nargs=2, metavar=("LO", "HI"), help="yaw-rate commands, rad/s (-0.5 0.5)")
    tr.add_argument("--zero-command-share", type=float, help="share of commands that are 'stand still' (0.25)")
    tr.add_argument("--tracking-sigma", type=float, help="width of the velocity-tracking rewards (0.25)")
    tr.add_argument(
        "--reward",
        action="append",
        default=[],
        metavar="TERM=WEIGHT",
        help="replace a reward weight, e.g. tracking_ang_vel=2.0 (repeatable; see runtime/g1/training/rewards.py)",
    )
    tr.add_argument(
        "--weld-upper-body",
        type=parse_bool,
        default=False,
        metavar="BOOL",
        help="weld waist/arms in training (faster, transfers worse) instead of holding them by gains (false)",
    )
    tr.set_defaults(func=run_train)


def resolve_config_path(path: str, kind: str = "parameter file", is_dir: bool = False) -> Path:
    """``path`` as given, else relative to the project (``config/g1/...`` works from any directory)."""
    from runtime import CONFIG_DIR

    exists = Path.is_dir if is_dir else Path.is_file
    given = Path(path).expanduser()
    if exists(given):
        return given
    if not given.is_absolute():
        for base in (CONFIG_DIR.parent, CONFIG_DIR):
            if exists(base / path):
                return base / path
    raise FileNotFoundError(f"{kind} {path!r} not found (also looked under {CONFIG_DIR.parent})")


def resolve_policy_dir(path: str) -> str:
    """A policy directory as given, else under the project (``config/g1/trained_policy`` from anywhere)."""
    try:
        return str(resolve_config_path(path, "policy directory", is_dir=True))
    except FileNotFoundError:
        return path  # the loader names what is missing


def resolve_options(args: argparse.Namespace, defaults: dict[str, Any]) -> dict[str, Any]:
    """Command line > parameter file (``--config``) > built-in defaults, for the keys of ``defaults``."""
    params: dict[str, Any] = {}
    if getattr(args, "config", None):
        loaded = yaml.safe_load(resolve_config_path(args.config).read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{args.config}: a parameter file must be a mapping of option: value")
        params = {str(k).replace("-", "_"): v for k, v in loaded.items()}
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise ValueError(f"{args.config}: unknown parameters {unknown}; known: {sorted(defaults)}")
    out = {}
    for key, default in defaults.items():
        cli = getattr(args, key, None)
        value = cli if cli is not None else params.get(key, default)
        if isinstance(default, bool) and value is not None:
            value = parse_bool(value)
        out[key] = value
    return out


def build_controller(policy_dir: str, opts: dict[str, Any]) -> tuple[Any, Any]:
    """The policy (timed) and the controller for ``opts`` (see :data:`LOWCMD_DEFAULTS`)."""
    from runtime.g1.lowcmd_controller import G1ControllerConfig, G1LowCmdController
    from runtime.g1.motors import load_joint_limits
    from runtime.policies.unitree_velocity import load_velocity_policy
    from runtime.ros.g1_lowcmd_node import TimedPolicy

    policy = TimedPolicy(load_velocity_policy(resolve_policy_dir(policy_dir)), window=int(opts["stats_window"]))
    config = G1ControllerConfig(
        move_to_default_s=float(opts["move_time"]),
        damping_kd=float(opts["damping_kd"]),
        lowstate_timeout_s=float(opts["lowstate_timeout"]),
        policy_missed_periods=int(opts["policy_missed_periods"]),
        use_remote=bool(opts["remote"]),
        joint_limit_margin=float(opts["joint_limit_margin"]),
    )
    limits = load_joint_limits(opts["limits_model"])
    return policy, G1LowCmdController(policy, limits, config)


def run_lowcmd(args: argparse.Namespace) -> int:
    from runrobot.ros_process import init_ros, run_until_signalled
    from runtime.ros.g1_lowcmd_node import G1LowCmdNode

    opts = resolve_options(args, LOWCMD_DEFAULTS)
    policy, controller = build_controller(args.policy, opts)
    init_ros()
    node = G1LowCmdNode(
        controller,
        rate_hz=float(opts["rate"]),
        policy_rate_hz=None if opts["policy_rate"] is None else float(opts["policy_rate"]),
        status_hz=float(opts["status_rate"]),
        realtime=bool(opts["realtime"]),
        reject_bad_lowstate_crc=bool(opts["reject_bad_lowstate_crc"]),
        stats_window=int(opts["stats_window"]),
        policy_timer=policy,
        spin_s=float(opts["spin"]),
        settle_samples=int(opts["settle_samples"]),
    )

    def announce() -> None:
        node.start()
        loop = node.loop
        print(
            f"g1 lowcmd: {args.policy} | publish {loop.publish_loop.rate_hz:.0f} Hz, policy "
            f"{loop.policy_loop.rate_hz:.0f} Hz | max_cmd {controller.max_cmd.tolist()} | waiting for /lowstate",
            flush=True,
        )

    run_until_signalled(node, announce, node.stop, float(opts["duration"]))
    final = node.status()
    summary = {k: final[k] for k in ("state", "counters", "last_safety_event", "loop")}
    print(f"g1 lowcmd stopped: {json.dumps(summary, default=str)}", flush=True)
    return 0


def run_sim(args: argparse.Namespace) -> int:
    from runrobot.ros_process import init_ros, run_until_signalled
    from runtime.ros.g1_sim_node import G1SimNode, build_sim

    opts = resolve_options(args, SIM_DEFAULTS)
    sim = build_sim(opts)
    init_ros()
    node = G1SimNode(
        sim,
        status_hz=float(opts["status_rate"]),
        pose_hz=float(opts["pose_rate"]),
        frozen=bool(opts["freeze"]),
    )

    description = node.describe()  # benchmarks a few physics steps: before the physics thread starts

    def announce() -> None:
        node.start()
        print(f"g1 sim: {description}", flush=True)

    run_until_signalled(node, announce, node.stop, float(opts["duration"]))
    print(f"g1 sim stopped: {json.dumps(node.stats(), default=str)}", flush=True)
    return 0


def run_init_policy(args: argparse.Namespace) -> int:
    from runtime.g1.velocity_policy_init import init_velocity_policy

    out = init_velocity_policy(args.out, recurrent=args.recurrent, seed=args.seed)
    print(
        json.dumps(
            {
                "policy_dir": str(out),
                "recurrent": args.recurrent,
                "note": "UNTRAINED stand-in: holds the default pose, does not walk",
            }
        )
    )
    return 0


def parse_reward_overrides(items: list[str]) -> dict[str, float]:
    """``["tracking_ang_vel=2", ...]`` -> ``{"tracking_ang_vel": 2.0}`` (term names are checked by the trainer)."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--reward wants TERM=WEIGHT (e.g. tracking_ang_vel=2.0), got {item!r}") from None
    return out


def run_train(args: argparse.Namespace) -> int:
    from runtime.g1.training.train import TrainConfig, train

    if args.minutes is None and args.iterations is None:
        raise ValueError("give --minutes and/or --iterations")
    cfg = TrainConfig(
        out=args.out,
        minutes=args.minutes,
        iterations=args.iterations,
        envs=args.envs,
        steps_per_env=args.steps,
        seed=args.seed,
        resume=args.resume,
        checkpoint_minutes=args.checkpoint_minutes,
        start_level=args.start_level,
    )
    cfg.env.weld_upper_body = args.weld_upper_body
    cfg.rewards = parse_reward_overrides(args.reward)
    cfg.learning_rate = args.learning_rate
    for name in ("vx_range", "vy_range", "wz_range"):
        if getattr(args, name) is not None:
            setattr(cfg.env, name, tuple(getattr(args, name)))
    for name in ("zero_command_share", "tracking_sigma"):
        if getattr(args, name) is not None:
            setattr(cfg.env, name, getattr(args, name))
    report = train(cfg, log=lambda line: print(line, flush=True))
    print(json.dumps({"policy_dir": str(Path(args.out).expanduser()), **report}, default=str))
    return 0

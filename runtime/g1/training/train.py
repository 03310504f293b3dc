"""The training loop behind ``runrobot g1 train``: PPO on :class:`G1VelocityEnv`, checkpoints, export.

One line per iteration (iteration, env steps, steps/s, mean episode length, mean return, velocity
tracking error, command level). Command curriculum: the ranges start at ``start_level`` (0 = stand
only) and grow by ``level_step`` each iteration in which episodes last over ``level_up_share`` of
the maximum. Checkpoints (``checkpoints/latest.pt``: model, optimizer, counters, history) and the
exported policy directory are written every ``checkpoint_minutes`` and at the end.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from runtime.g1.training.env import EnvConfig, G1VelocityEnv
from runtime.g1.training.export import export_policy, trained_deploy_config
from runtime.g1.training.ppo import PPO, ActorCritic, PPOConfig, RolloutBuffer
from runtime.g1.training.rewards import override_scales

CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_FILE = "latest.pt"


@dataclass
class TrainConfig:
    out: str
    minutes: float | None = None
    iterations: int | None = None
    envs: int = 32
    steps_per_env: int = 32
    seed: int = 0
    resume: str | None = None
    checkpoint_minutes: float = 5.0
    start_level: float = 0.0
    level_step: float = 0.02
    level_up_share: float = 0.7
    rewards: dict[str, float] = field(default_factory=dict)
    """Reward weights that replace :class:`RewardScales` defaults (by term name)."""
    learning_rate: float | None = None
    """Learning rate to (re)start from, also after ``resume`` (default: the config's, or the checkpoint's)."""
    env: EnvConfig = field(default_factory=EnvConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)


def checkpoint_path(path: str | Path) -> Path:
    """A checkpoint file from a file, a checkpoints directory or a training output directory."""
    p = Path(path).expanduser()
    for candidate in (p, p / CHECKPOINT_FILE, p / CHECKPOINT_DIR / CHECKPOINT_FILE):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no checkpoint at {p} (looked for {CHECKPOINT_DIR}/{CHECKPOINT_FILE})")


class Trainer:
    def __init__(self, cfg: TrainConfig, log: Callable[[str], None] = print) -> None:
        torch.set_num_threads(1)
        torch.manual_seed(cfg.seed)
        self.cfg, self.log = cfg, log
        cfg.env.num_envs = cfg.envs
        cfg.env.command_level = cfg.start_level
        if cfg.learning_rate is not None:
            cfg.ppo.learning_rate = cfg.learning_rate  # recorded in the report
        self.env = G1VelocityEnv(cfg.env, seed=cfg.seed)
        self.env.scales = override_scales(self.env.scales, cfg.rewards)
        self.model = ActorCritic(self.env.num_obs, self.env.num_critic_obs, self.env.num_actions, cfg.ppo)
        self.ppo = PPO(self.model, cfg.ppo, seed=cfg.seed)
        self.buffer = RolloutBuffer(
            cfg.steps_per_env, cfg.envs, self.env.num_obs, self.env.num_critic_obs, self.env.num_actions
        )
        self.iteration, self.env_steps, self.wall_time = 0, 0, 0.0
        self.history: list[dict[str, Any]] = []
        self.lengths: deque[float] = deque(maxlen=100)
        self.returns: deque[float] = deque(maxlen=200)
        self.out = Path(cfg.out).expanduser()
        if cfg.resume:
            self.load(checkpoint_path(cfg.resume))
        if cfg.learning_rate is not None:
            self.ppo.lr = cfg.learning_rate
            for group in self.ppo.optimizer.param_groups:
                group["lr"] = cfg.learning_rate

    # --- checkpoints ---------------------------------------------------------------------

    def load(self, path: Path) -> None:
        state = torch.load(path, map_location="cpu", weights_only=False)
        self.model.load_state_dict(state["model"])
        self.ppo.optimizer.load_state_dict(state["optimizer"])
        self.ppo.lr = state["lr"]
        self.iteration, self.env_steps, self.wall_time = state["iteration"], state["env_steps"], state["wall_time"]
        self.history = state["history"]
        self.env.cfg.command_level = state["command_level"]
        self.log(f"resumed {path}: iteration {self.iteration}, {self.env_steps} env steps")

    def save(self) -> Path:
        ckpt = self.out / CHECKPOINT_DIR
        ckpt.mkdir(parents=True, exist_ok=True)
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.ppo.optimizer.state_dict(),
            "lr": self.ppo.lr,
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "wall_time": self.wall_time,
            "history": self.history,
            "command_level": self.env.cfg.command_level,
        }
        tmp = ckpt / (CHECKPOINT_FILE + ".tmp")
        torch.save(state, tmp)
        tmp.replace(ckpt / CHECKPOINT_FILE)
        export_policy(self.out, self.model.actor, self.deploy_config(), self.report())
        return ckpt / CHECKPOINT_FILE

    def deploy_config(self) -> dict[str, Any]:
        e, level = self.cfg.env, self.env.cfg.command_level
        ranges = [(lo * level, hi * level) for lo, hi in (e.vx_range, e.vy_range, e.wz_range)]
        return trained_deploy_config(e.deploy, e.sim_dt, e.decimation, ranges)

    def report(self) -> dict[str, Any]:
        env_cfg = {k: v for k, v in asdict(self.cfg.env).items() if k != "deploy"}
        return {
            "iterations": self.iteration,
            "env_steps": self.env_steps,
            "wall_time_s": round(self.wall_time, 1),
            "steps_per_s": round(self.env_steps / self.wall_time, 1) if self.wall_time else None,
            "envs": self.cfg.envs,
            "steps_per_env": self.cfg.steps_per_env,
            "seed": self.cfg.seed,
            "command_level": self.env.cfg.command_level,
            "env": env_cfg,
            "ppo": asdict(self.cfg.ppo),
            "reward_scales": asdict(self.env.scales),
            "curve": self.history,
        }

    # --- loop ----------------------------------------------------------------------------

    def collect(self, obs: np.ndarray, critic_obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        gamma = self.cfg.ppo.gamma
        track, rewards, falls = [], [], 0
        terms: dict[str, float] = {}
        for _ in range(self.cfg.steps_per_env):
            o, co = torch.from_numpy(obs), torch.from_numpy(critic_obs)
            out = self.ppo.act(o, co)
            obs, critic_obs, reward, done, timeout, info = self.env.step(out["actions"].numpy().astype(np.float64))
            r = torch.from_numpy(reward).float() + gamma * out["values"] * torch.from_numpy(timeout).float()
            self.buffer.add(
                obs=o,
                critic_obs=co,
                rewards=r,
                dones=torch.from_numpy(done).float(),
                **{k: out[k] for k in ("actions", "log_probs", "values", "mu", "sigma")},
            )
            self.lengths.extend(info["done_lengths"] * self.cfg.env.control_dt)
            self.returns.extend(info["done_returns"])
            track.append(info["tracking_error"].mean())
            rewards.append(reward.mean())
            falls += int(info["fell"].sum())
            for k, v in info["terms"].items():
                terms[k] = terms.get(k, 0.0) + v / self.cfg.steps_per_env
        with torch.no_grad():
            last = self.model.value(torch.from_numpy(critic_obs))
        self.buffer.compute_returns(last, gamma, self.cfg.ppo.lam)
        stats = {"tracking_error": float(np.mean(track)), "reward": float(np.mean(rewards)), "falls": falls}
        return obs, critic_obs, {**stats, "terms": terms}

    def curriculum(self) -> None:
        """Raise the command level while recent episodes last (they end by time-out, not by falling)."""
        if len(self.lengths) < self.lengths.maxlen // 2:
            return
        if np.mean(self.lengths) > self.cfg.level_up_share * self.cfg.env.episode_s:
            self.env.cfg.command_level = min(1.0, self.env.cfg.command_level + self.cfg.level_step)

    def done(self, start: float) -> bool:
        c = self.cfg
        if c.iterations is not None and self.iteration >= c.iterations:
            return True
        return c.minutes is not None and time.monotonic() - start >= c.minutes * 60.0

    def run(self) -> dict[str, Any]:
        start = time.monotonic()
        last_ckpt = start
        obs, critic_obs = self.env.reset()
        while not self.done(start):
            t0 = time.monotonic()
            obs, critic_obs, roll = self.collect(obs, critic_obs)
            stats = self.ppo.update(self.buffer)
            dt = time.monotonic() - t0
            self.wall_time += dt
            self.iteration += 1
            new_steps = self.cfg.envs * self.cfg.steps_per_env
            self.env_steps += new_steps
            self.curriculum()
            entry = {
                "iteration": self.iteration,
                "env_steps": self.env_steps,
                "wall_time_s": round(self.wall_time, 1),
                "fps": round(new_steps / dt, 1),
                "ep_len_s": round(float(np.mean(self.lengths)), 3) if self.lengths else 0.0,
                "ep_return": round(float(np.mean(self.returns)), 4) if self.returns else 0.0,
                "step_reward": round(roll["reward"], 5),
                "tracking_error": round(roll["tracking_error"], 4),
                "falls": roll["falls"],
                "command_level": round(self.env.cfg.command_level, 3),
                **{k: round(v, 5) for k, v in stats.items()},
                **{f"r_{k}": round(v, 5) for k, v in roll["terms"].items()},
            }
            self.history.append(entry)
            self.log(
                f"it {self.iteration:5d} | steps {self.env_steps:9d} | {entry['fps']:6.0f} steps/s | "
                f"ep len {entry['ep_len_s']:5.2f} s | return {entry['ep_return']:7.3f} | "
                f"track err {entry['tracking_error']:.3f} m/s | falls {roll['falls']:3d} | "
                f"level {entry['command_level']:.2f} | lr {stats['lr']:.1e} | std {stats['action_std']:.3f}"
            )
            if time.monotonic() - last_ckpt >= self.cfg.checkpoint_minutes * 60.0:
                self.save()
                last_ckpt = time.monotonic()
        path = self.save()
        report = self.report()
        self.log(f"done: {self.iteration} iterations, {self.env_steps} env steps; checkpoint {path}; policy {self.out}")
        return {k: v for k, v in report.items() if k != "curve"}


def train(cfg: TrainConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train and export; returns the report without its curve."""
    return Trainer(cfg, log).run()


def summary_json(report: dict[str, Any]) -> str:
    return json.dumps({k: report[k] for k in ("iterations", "env_steps", "wall_time_s", "steps_per_s")})

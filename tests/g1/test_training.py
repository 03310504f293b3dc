"""The local G1 PPO trainer: env observation == deploy adapter's, rewards, PPO learning, export round trip."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
import torch

from runtime.g1.training import rewards
from runtime.g1.training.env import EnvConfig, G1VelocityEnv
from runtime.g1.training.ppo import PPO, ActorCritic, PPOConfig, RolloutBuffer
from runtime.g1.training.train import TrainConfig, Trainer, checkpoint_path
from runtime.g1.velocity_policy_init import init_velocity_policy
from runtime.policies.unitree_velocity import G1_NUM_MOTORS, load_velocity_policy


def _quiet_env(num_envs: int = 2, **overrides: object) -> G1VelocityEnv:
    cfg = EnvConfig(num_envs=num_envs, push_interval_s=1e6, command_resample_s=1e6, **overrides)
    return G1VelocityEnv(cfg, seed=3)


@pytest.fixture(scope="module")
def env() -> G1VelocityEnv:
    return _quiet_env()


@pytest.mark.parametrize("weld_upper_body", [True, False], ids=["welded", "arm_waist_gains"])
def test_env_observation_equals_the_deploy_adapter_value_by_value(tmp_path: Path, weld_upper_body: bool) -> None:
    env = _quiet_env(weld_upper_body=weld_upper_body)
    assert env.g1.dof == (12 if weld_upper_body else 29)
    env.reset()
    env.commands[:] = [[0.4, -0.1, 0.3], [0.0, 0.0, 0.0]]
    policy = load_velocity_policy(init_velocity_policy(tmp_path / "standin", seed=5))
    policy.reset()
    rng = np.random.default_rng(0)
    for k in range(12):
        obs = env.observations()
        i = k % 2
        q, dq = np.zeros(G1_NUM_MOTORS), np.zeros(G1_NUM_MOTORS)
        q[:12], dq[:12] = env.q[i], env.dq[i]
        args = (q, dq, env.imu_quat[i], env.gyro[i], env.commands[i], k * env.cfg.control_dt)
        expected = policy.observation(*args)
        assert expected.dtype == obs.dtype == np.float32
        np.testing.assert_allclose(obs[i], expected, rtol=1e-6, atol=1e-6, err_msg=f"step {k}")
        assert policy.observation(*args).tolist() == expected.tolist()
        other = rng.normal(0.0, 0.3, 12)
        actions = np.zeros((2, 12))
        actions[i] = policy.step(*args).action  # the env's previous action is the adapter's
        actions[1 - i] = other
        policy._last_action = np.asarray(actions[1 - i], dtype=np.float32)  # next step looks at the other env
        _, _, _, done, _, _ = env.step(actions)
        assert not done.any()
    assert np.abs(obs[:, 9:21]).max() > 0  # joint positions moved: the comparison is not trivial


def test_feet_air_time_rewards_long_steps_only_under_a_walking_command(env: G1VelocityEnv) -> None:
    env.reset()
    env.commands[:] = [[0.5, 0.0, 0.0], [0.0, 0.0, 0.0]] + [[0.5, 0.0, 0.0]] * (len(env.commands) - 2)
    env.touchdown_air_time[:] = 0.0
    env.touchdown_air_time[:2, 0] = 0.5  # the left foot lands after 0.5 s in the air
    reward = rewards.feet_air_time(env)
    assert reward[0] == pytest.approx(0.5 - rewards.AIR_TIME_TARGET)
    assert reward[1] == 0.0  # standing command: stepping earns nothing
    env.touchdown_air_time[0, 0] = 0.1  # a shuffle shorter than the target costs
    assert rewards.feet_air_time(env)[0] < 0


def test_tracking_reward_is_higher_when_velocity_matches_the_command(env: G1VelocityEnv) -> None:
    env.reset()
    env.commands[:] = [0.5, 0.0, 0.0]
    env.qpos[:, 3:7] = [1.0, 0.0, 0.0, 0.0]
    env.qvel[:, :] = 0.0
    env.qvel[0, 0] = 0.5  # env 0 walks at the command, env 1 stands still
    track = rewards.tracking_lin_vel(env)
    assert track[0] == pytest.approx(1.0)
    assert track[1] < 0.5


def test_falling_ends_the_episode_and_is_penalised(env: G1VelocityEnv) -> None:
    env.reset()
    env.commands[:] = 0.0
    env.datas[1].qpos[2] = 0.4  # pelvis below the termination height
    _, _, reward, done, timeout, info = env.step(np.zeros((2, 12)))
    assert done.tolist() == [False, True]
    assert info["fell"].tolist() == [False, True]
    assert not timeout.any()
    assert reward[1] < reward[0] - 1.0
    assert env.episode_step[1] == 0 and env.base_height[1] > 0.7  # reset at once


def test_gait_clock_wants_both_feet_down_when_standing(env: G1VelocityEnv) -> None:
    env.reset()
    env.commands[:] = [[0.0, 0.0, 0.0], [0.5, 0.0, 0.0]]
    env.episode_step[:] = 30  # phase 0.75: the left foot swings when walking
    stance = rewards.stance_mask(env)
    assert stance[0].tolist() == [True, True]
    assert stance[1].tolist() == [False, True]


def test_ppo_learns_a_contextual_bandit() -> None:
    """One-step episodes, reward = -|a - W obs|^2: PPO must move the mean action onto the target."""
    torch.manual_seed(0)
    num_obs, num_actions, envs, steps = 4, 2, 64, 8
    cfg = PPOConfig(actor_hidden=(32,), critic_hidden=(32,), init_noise_std=0.5, learning_rate=3e-3, entropy_coef=0.0)
    model = ActorCritic(num_obs, num_obs, num_actions, cfg)
    ppo = PPO(model, cfg, seed=0)
    w = torch.tensor([[0.8, -0.5, 0.0, 0.3], [0.0, 0.6, -0.7, 0.2]])

    def greedy_error() -> float:
        obs = torch.randn(512, num_obs, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            return float(((model.actor(obs) - obs @ w.T) ** 2).sum(-1).mean())

    before = greedy_error()
    for _ in range(40):
        buf = RolloutBuffer(steps, envs, num_obs, num_obs, num_actions)
        for _ in range(steps):
            obs = torch.randn(envs, num_obs)
            out = ppo.act(obs, obs)
            reward = -((out["actions"] - obs @ w.T) ** 2).sum(-1)
            buf.add(obs=obs, critic_obs=obs, rewards=reward, dones=torch.ones(envs), **out)
        buf.compute_returns(torch.zeros(envs), cfg.gamma, cfg.lam)
        ppo.update(buf)
    after = greedy_error()
    assert after < 0.3 * before, (before, after)


def test_tiny_training_run_exports_a_policy_the_adapter_loads(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cfg = TrainConfig(out=str(out), iterations=2, envs=3, steps_per_env=8, seed=1)
    cfg.env.push_interval_s = 0.1  # exercise the push path too
    lines: list[str] = []
    report = Trainer(cfg, log=lines.append).run()
    assert report["iterations"] == 2 and report["env_steps"] == 2 * 3 * 8
    assert sum(line.startswith("it ") for line in lines) == 2
    assert checkpoint_path(out).is_file()
    saved = json.loads((out / "training.json").read_text())
    assert saved["iterations"] == 2 and len(saved["curve"]) == 2
    assert {"ep_len_s", "ep_return", "tracking_error", "fps"} <= set(saved["curve"][0])
    assert (out / "policy.onnx").stat().st_size < 2_000_000
    svg = ElementTree.parse(out / "training.svg").getroot()  # the curve picture: one line per panel, 2 points each
    lines_drawn = [e for e in svg.iter() if e.tag.endswith("polyline")]
    assert len(lines_drawn) == 3 and all(len(e.get("points").split()) == 2 for e in lines_drawn)

    policy = load_velocity_policy(out)
    assert policy.config.control_dt == pytest.approx(0.02)
    assert "PPO-TRAINED" in (out / "deploy.yaml").read_text()
    q = np.zeros(G1_NUM_MOTORS)
    q[:12] = policy.layout.default_angles
    for k in range(5):
        targets = policy.step(q, np.zeros(G1_NUM_MOTORS), (1.0, 0.0, 0.0, 0.0), np.zeros(3), (0.3, 0.0, 0.0), k * 0.02)
        assert np.isfinite(targets.q).all() and np.isfinite(targets.action).all()

    # The ONNX computes what the trained actor computes.
    trainer = Trainer(TrainConfig(out=str(out), iterations=2, envs=2, steps_per_env=8, resume=str(out)), log=print)
    obs = policy.observation(q, np.zeros(G1_NUM_MOTORS), (1.0, 0.0, 0.0, 0.0), np.zeros(3), (0.3, 0.0, 0.0), 0.1)
    with torch.no_grad():
        expected = trainer.model.actor(torch.from_numpy(obs)[None]).numpy()[0]
    np.testing.assert_allclose(policy._stepper.run(obs), expected, atol=1e-5)
    assert trainer.iteration == 2  # resumed, nothing left to do


SHIPPED = Path(__file__).resolve().parents[2] / "config" / "g1" / "trained_policy"


def _bench_eval() -> object:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "bench" / "g1_policy_eval.py"
    spec = importlib.util.spec_from_file_location("g1_policy_eval", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not (SHIPPED / "policy.onnx").is_file(), reason="no trained policy shipped")
def test_shipped_trained_policy_stands_and_walks_where_the_stand_in_falls(tmp_path: Path) -> None:
    """In-process (the real adapter on G1Sim, arms held by gains): the ROS 2 test walks it across processes."""
    assert (SHIPPED / "policy.onnx").stat().st_size < 2_000_000
    report = json.loads((SHIPPED / "training.json").read_text())
    assert report["env_steps"] > 0
    bench = _bench_eval()
    trained = bench.evaluate(SHIPPED, 0.0, 4.0)
    standin = bench.evaluate(init_velocity_policy(tmp_path / "standin"), 0.0, 4.0)
    assert not trained["fell"] and abs(trained["forward_m"]) < 0.2, trained
    assert standin["fell"] and standin["upright_s"] < 2.0, standin
    walking = bench.evaluate(SHIPPED, 0.3, 6.0)
    assert not walking["fell"] and walking["forward_m"] > 1.0, walking  # 0.3 m/s for 5 s after a 1 s start

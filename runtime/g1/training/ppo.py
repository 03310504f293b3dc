"""A compact PPO: Gaussian MLP actor, MLP critic (optionally on privileged observations), GAE.

Clipped surrogate, clipped value loss, entropy bonus, gradient clipping, and a learning rate
adapted to keep the KL divergence between the old and new policy near ``desired_kl``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass
class PPOConfig:
    actor_hidden: tuple[int, ...] = (128, 128, 64)
    critic_hidden: tuple[int, ...] = (256, 128)
    init_noise_std: float = 0.6
    learning_rate: float = 1e-3
    min_lr: float = 1e-5
    max_lr: float = 1e-2
    desired_kl: float | None = 0.01
    gamma: float = 0.99
    lam: float = 0.95
    clip: float = 0.2
    epochs: int = 5
    minibatches: int = 4
    value_coef: float = 1.0
    entropy_coef: float = 0.005
    max_grad_norm: float = 1.0


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with ELU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ELU())
    return nn.Sequential(*layers)


class Actor(nn.Module):
    """``obs -> action mean`` as ``self.net`` (what gets exported to ONNX)."""

    def __init__(self, num_obs: int, num_actions: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        self.net = mlp([num_obs, *hidden, num_actions])
        nn.init.normal_(self.net[-1].weight, std=0.01)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)


class ActorCritic(nn.Module):
    def __init__(self, num_obs: int, num_critic_obs: int, num_actions: int, cfg: PPOConfig) -> None:
        super().__init__()
        self.actor = Actor(num_obs, num_actions, cfg.actor_hidden)
        self.critic = mlp([num_critic_obs, *cfg.critic_hidden, 1])
        self.log_std = nn.Parameter(torch.full((num_actions,), float(np.log(cfg.init_noise_std))))

    def distribution(self, obs: torch.Tensor) -> torch.distributions.Normal:
        return torch.distributions.Normal(self.actor(obs), self.log_std.exp().expand(obs.shape[0], -1))

    def value(self, critic_obs: torch.Tensor) -> torch.Tensor:
        return self.critic(critic_obs).squeeze(-1)


class RolloutBuffer:
    """``steps`` x ``envs`` transitions, then returns/advantages by GAE."""

    def __init__(self, steps: int, envs: int, num_obs: int, num_critic_obs: int, num_actions: int) -> None:
        self.steps, self.envs = steps, envs
        z = torch.zeros
        self.obs, self.critic_obs = z(steps, envs, num_obs), z(steps, envs, num_critic_obs)
        self.actions, self.log_probs = z(steps, envs, num_actions), z(steps, envs)
        self.mu, self.sigma = z(steps, envs, num_actions), z(steps, envs, num_actions)
        self.rewards, self.dones, self.values = z(steps, envs), z(steps, envs), z(steps, envs)
        self.returns, self.advantages = z(steps, envs), z(steps, envs)
        self.k = 0

    def add(self, **fields: torch.Tensor) -> None:
        for name, value in fields.items():
            getattr(self, name)[self.k] = value
        self.k += 1

    def compute_returns(self, last_values: torch.Tensor, gamma: float, lam: float) -> None:
        adv = torch.zeros(self.envs)
        for t in reversed(range(self.steps)):
            next_v = last_values if t == self.steps - 1 else self.values[t + 1]
            alive = 1.0 - self.dones[t]
            delta = self.rewards[t] + gamma * next_v * alive - self.values[t]
            adv = delta + gamma * lam * alive * adv
            self.advantages[t] = adv
        self.returns = self.advantages + self.values
        a = self.advantages
        self.advantages = (a - a.mean()) / (a.std() + 1e-8)
        self.k = 0

    def minibatches(self, count: int, generator: torch.Generator) -> list[dict[str, torch.Tensor]]:
        n = self.steps * self.envs
        perm = torch.randperm(n, generator=generator)
        names = ("obs", "critic_obs", "actions", "log_probs", "mu", "sigma", "values", "returns", "advantages")
        flat = {k: getattr(self, k).reshape(n, *getattr(self, k).shape[2:]) for k in names}
        size = n // count
        return [{k: v[perm[i * size : (i + 1) * size]] for k, v in flat.items()} for i in range(count)]


class PPO:
    def __init__(self, model: ActorCritic, cfg: PPOConfig, seed: int = 0) -> None:
        self.model, self.cfg = model, cfg
        self.lr = cfg.learning_rate
        self.optimizer = torch.optim.Adam(model.parameters(), lr=self.lr)
        self.generator = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def act(self, obs: torch.Tensor, critic_obs: torch.Tensor) -> dict[str, torch.Tensor]:
        dist = self.model.distribution(obs)
        actions = dist.sample()
        return {
            "actions": actions,
            "log_probs": dist.log_prob(actions).sum(-1),
            "values": self.model.value(critic_obs),
            "mu": dist.mean,
            "sigma": dist.stddev,
        }

    def update(self, buffer: RolloutBuffer) -> dict[str, float]:
        """PPO epochs over the buffer; mean losses, KL and the learning rate used."""
        cfg = self.cfg
        stats = {"policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0, "kl": 0.0}
        count = 0
        for _ in range(cfg.epochs):
            for mb in buffer.minibatches(cfg.minibatches, self.generator):
                dist = self.model.distribution(mb["obs"])
                log_probs = dist.log_prob(mb["actions"]).sum(-1)
                entropy = dist.entropy().sum(-1).mean()
                with torch.no_grad():
                    sigma, mu = dist.stddev, dist.mean
                    kl = torch.sum(
                        torch.log(sigma / mb["sigma"])
                        + (mb["sigma"] ** 2 + (mb["mu"] - mu) ** 2) / (2 * sigma**2)
                        - 0.5,
                        dim=-1,
                    ).mean()
                if cfg.desired_kl is not None:
                    if kl > 2.0 * cfg.desired_kl:
                        self.lr = max(cfg.min_lr, self.lr / 1.5)
                    elif 0.0 < kl < cfg.desired_kl / 2.0:
                        self.lr = min(cfg.max_lr, self.lr * 1.5)
                    for group in self.optimizer.param_groups:
                        group["lr"] = self.lr
                ratio = torch.exp(log_probs - mb["log_probs"])
                adv = mb["advantages"]
                surrogate = torch.max(-adv * ratio, -adv * ratio.clamp(1 - cfg.clip, 1 + cfg.clip)).mean()
                values = self.model.value(mb["critic_obs"])
                clipped = mb["values"] + (values - mb["values"]).clamp(-cfg.clip, cfg.clip)
                value_loss = torch.max((values - mb["returns"]) ** 2, (clipped - mb["returns"]) ** 2).mean()
                loss = surrogate + cfg.value_coef * value_loss - cfg.entropy_coef * entropy
                self.optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
                self.optimizer.step()
                stats["policy_loss"] += surrogate.item()
                stats["value_loss"] += value_loss.item()
                stats["entropy"] += entropy.item()
                stats["kl"] += float(kl)
                count += 1
        out = {k: v / max(count, 1) for k, v in stats.items()}
        out["lr"] = self.lr
        out["action_std"] = self.model.log_std.detach().exp().mean().item()
        return out

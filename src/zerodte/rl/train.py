"""``train_ppo``: MaskablePPO (sb3-contrib) on :class:`~zerodte.rl.env.TradingEnv`.

PPO is on-policy: each update uses only the rollout the current policy just collected, and
old transitions would need importance weights that PPO's clipped objective does not carry.
Prioritized experience replay (the predecessor's enhanced trainer) therefore does not fit
it and is not offered here; it is offered to the off-policy learners that can use it, the
bandit (``entry.bandit.replay``) and the threshold learner (``entry.threshold.replay``).

Torch runs on the CPU with ``torch_threads`` threads (2 on this project's machines).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zerodte.config.manifest import settings_manifest
from zerodte.config.root import Settings
from zerodte.market.loading import MarketData
from zerodte.policy.controllers.ppo_state import state_schema_hash
from zerodte.rl.artifacts import save_ppo
from zerodte.rl.env import TradingEnv

logger = logging.getLogger(__name__)


def train_ppo(
    settings: Settings,
    md: MarketData,
    out_dir: Path,
    *,
    code_version: str = "unknown",
    feature_set: str = "default",
    torch_threads: int = 2,
) -> dict[str, Any]:
    """Train the policy on ``md`` with ``entry.ppo`` and save it to ``out_dir``.

    Returns the metadata written (training steps, wall time, steps per second, episodes,
    mean episode reward of the last rollouts).
    """
    from sb3_contrib import MaskablePPO

    cfg = settings.entry.ppo
    torch.set_num_threads(torch_threads)
    env = TradingEnv(settings, md, feature_set=feature_set, episode_sessions=cfg.episode_sessions)
    model = MaskablePPO(
        "MlpPolicy",
        env,
        n_steps=cfg.n_steps,
        batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate,
        gamma=cfg.gamma,
        ent_coef=cfg.ent_coef,
        policy_kwargs={"net_arch": list(cfg.hidden)},
        seed=cfg.seed,
        device="cpu",
        verbose=0,
    )
    start = time.perf_counter()
    model.learn(total_timesteps=cfg.timesteps)
    seconds = time.perf_counter() - start
    rewards = [float(ep["r"]) for ep in model.ep_info_buffer] if model.ep_info_buffer else []
    meta = {
        "kind": "maskable_ppo",
        "state_names": list(env.state_names),
        "state_schema_hash": state_schema_hash(env.state_names),
        "feature_set": feature_set,
        "data_hash": md.data_hash,
        "data_source": md.source,
        "training_window": [str(md.frame["session"].iloc[0]), str(md.frame["session"].iloc[-1])],
        "code_version": code_version,
        "timesteps": int(model.num_timesteps),
        "seconds": seconds,
        "steps_per_second": model.num_timesteps / seconds if seconds > 0 else None,
        "episodes": len(rewards),
        "mean_episode_reward": float(np.mean(rewards)) if rewards else None,
        "config": settings_manifest(settings),
    }
    save_ppo(out_dir, model, meta)
    logger.info("PPO trained: %d steps in %.1f s -> %s", model.num_timesteps, seconds, out_dir)
    return meta

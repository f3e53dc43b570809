"""The ``ppo`` entry controller: a MaskablePPO policy trained in :mod:`zerodte.rl`.

It loads the artifact of :mod:`zerodte.rl.artifacts` (the actor as numpy arrays, checked
against the SHA-256 and state schema in its metadata) and decides from the state of
:mod:`~.ppo_state` with the same action masks as in training::

    p = softmax(masked logits(state))            over HOLD, BUY_CALL, BUY_PUT, EXIT
    deterministic: a = argmax p (one-hot propensities)
    stochastic:    a = first k with u < cumsum(p)_k, u = SplitMix64(seed, bar time);
                   the propensities are p

Recorded propensities are over HOLD / BUY_CALLS / BUY_PUTS: an EXIT (possible only in a
trade, and only with ``allow_exit``) cannot be acted on by an entry controller in a
backtest, so its probability is added to HOLD and the reason says so. The state depends on
the open position, so there is no ``decide_batch``: backtests run it on the streaming path.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from zerodte.config.decision_settings import PPOSettings
from zerodte.errors import ConfigError
from zerodte.policy.controllers.inputs import observation_key
from zerodte.policy.controllers.ppo_state import (
    EXIT,
    NumpyPolicy,
    action_mask,
    state_schema_hash,
    state_vector,
)
from zerodte.policy.controllers.random import splitmix_uniform
from zerodte.types import Action, Decision, Observation

MODEL_FILE = "ppo.zip"
ACTOR_FILE = "actor.npz"
METADATA_FILE = "ppo_metadata.json"
_LABELS = ("hold", "call", "put", "exit")


class PPOController:
    """Decide with a trained PPO actor; see the module docstring."""

    name = "ppo"

    def __init__(
        self, policy: NumpyPolicy, state_names: tuple[str, ...], config: PPOSettings
    ) -> None:
        self.policy = policy
        self.state_names = state_names
        self.config = config

    @classmethod
    def load(cls, model_dir: Path, config: PPOSettings) -> PPOController:
        """Load and verify the artifact in ``model_dir``.

        Raises
        ------
        ConfigError
            No artifact, a checksum mismatch or a state schema this code does not build; the
            message names the training command.
        """
        model_dir = Path(model_dir)
        fix = f"train one with `zerodte train ppo --out {model_dir}` (entry.ppo.model_dir)"
        meta_path = model_dir / METADATA_FILE
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            actor = (model_dir / ACTOR_FILE).read_bytes()
        except (OSError, ValueError) as exc:
            raise ConfigError(f"no PPO policy at {model_dir} ({exc}); {fix}") from exc
        if hashlib.sha256(actor).hexdigest() != meta.get("actor_sha256"):
            raise ConfigError(
                f"{model_dir / ACTOR_FILE} does not match its metadata checksum; {fix}"
            )
        names = tuple(meta["state_names"])
        if state_schema_hash(names) != meta.get("state_schema_hash"):
            raise ConfigError(f"{meta_path}: state schema hash mismatch; {fix}")
        import io

        with np.load(io.BytesIO(actor)) as arrays:
            layers = [(arrays[f"W{k}"], arrays[f"b{k}"]) for k in range(int(meta["n_layers"]))]
        return cls(NumpyPolicy(layers), names, config)

    def decide(self, observation: Observation) -> Decision:
        """The policy's decision for one observation."""
        state = state_vector(observation, self.state_names)
        in_trade = bool(observation.positions)
        p = self.policy.probs(state, action_mask(in_trade, self.config.allow_exit))
        if self.config.deterministic:
            a = int(np.argmax(p))
            pi = np.eye(len(p))[a]
        else:
            u = float(splitmix_uniform(self.config.seed, observation_key(observation))[0])
            a = min(int(np.searchsorted(np.cumsum(p), u, side="right")), len(p) - 1)
            pi = p
        probs = (float(pi[0] + pi[EXIT]), float(pi[1]), float(pi[2]))
        reason = f"ppo {_LABELS[a]} (p = {', '.join(f'{x:.3f}' for x in p)})"
        if a == EXIT:
            reason += "; EXIT is not an entry: held (the exit rules manage the position)"
            a = 0
        return Decision(
            Action(a),
            scores=tuple(float(x) for x in p[:3]),
            probs=probs,
            reasons=(reason,),
            confidence=float(p.max()),
            context={"strategy": "PPO" if a else "NONE"},
        )

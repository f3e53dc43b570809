"""Reinforcement learning over the engine: the gymnasium environment and PPO training.

The policy itself (state, masks, inference) lives in :mod:`zerodte.policy.controllers.ppo`
and never imports this package.
"""

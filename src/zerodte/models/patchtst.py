"""PatchTST baseline on raw OHLCV sequences (Nie et al. 2023, "A Time Series is Worth 64
Words").

Channels (causal transforms of the raw bars, :func:`ohlcv_channels`): SPY log return, SPY
log high/low range, SPY log volume change, VIX log return. Each channel's last ``L`` steps
are cut into patches of ``patch`` steps (stride ``stride``), linearly embedded with learned
positions and encoded by a Transformer shared across channels (channel independence); the
flattened encodings feed the same heads and losses as :mod:`.gaussian`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 (PyTorch convention)

from zerodte.models.gaussian import GaussianConfig, GaussianPredictor

CHANNELS: tuple[str, ...] = ("spy_logret", "spy_logrange", "spy_logvol_change", "vix_logret")


def ohlcv_channels(frame: pd.DataFrame) -> pd.DataFrame:
    """The raw-bar channels of the module docstring; row ``t`` uses bars ``t-1`` and ``t``."""
    close = frame["spy_close"].to_numpy(np.float64)
    vol = np.log1p(frame["spy_volume"].to_numpy(np.float64))
    vix = frame["vix_close"].to_numpy(np.float64)
    out = {
        "spy_logret": np.diff(np.log(close), prepend=np.nan),
        "spy_logrange": np.log(
            frame["spy_high"].to_numpy(np.float64) / frame["spy_low"].to_numpy(np.float64)
        ),
        "spy_logvol_change": np.diff(vol, prepend=np.nan),
        "vix_logret": np.diff(np.log(vix), prepend=np.nan),
    }
    return pd.DataFrame(out, index=frame.index)


class PatchTSTNet(nn.Module):
    """Channel-independent patch Transformer with the Gaussian predictor's heads."""

    def __init__(self, n_channels: int, cfg: PatchTSTConfig) -> None:
        super().__init__()
        self.patch, self.stride = cfg.patch, cfg.stride
        n_patches = (cfg.sequence_length - cfg.patch) // cfg.stride + 1
        self.embed = nn.Linear(cfg.patch, cfg.d_model)
        self.pos = nn.Parameter(torch.zeros(1, n_patches, cfg.d_model))
        layer = nn.TransformerEncoderLayer(cfg.d_model, 4, 2 * cfg.d_model, 0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.fuse = nn.Linear(n_channels * n_patches * cfg.d_model, cfg.hidden)
        self.drop = nn.Dropout(cfg.dropout)
        self.heads = nn.Linear(cfg.hidden, 6)
        self.fixed_mask: torch.Tensor | None = None

    def trunk(self, seq: torch.Tensor) -> torch.Tensor:
        """``(B, L, C) -> (B, hidden)``."""
        b, _, c = seq.shape
        patches = seq.transpose(1, 2).unfold(2, self.patch, self.stride)  # (B, C, P, patch)
        z = self.embed(patches).reshape(b * c, -1, self.pos.shape[-1]) + self.pos
        z = self.enc(z).reshape(b, -1)
        return F.gelu(self.fuse(z))

    def head(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Dropout (MC at inference) then the heads."""
        emb = z * self.fixed_mask if self.fixed_mask is not None else self.drop(z)
        return emb, self.heads(emb)

    def kl(self) -> torch.Tensor:
        """No variational layers."""
        return torch.zeros(())


@dataclass(frozen=True)
class PatchTSTConfig(GaussianConfig):
    """Configuration of :class:`PatchTSTPredictor` (small by default)."""

    patch: int = 10
    stride: int = 5
    d_model: int = 16
    layers: int = 1
    hidden: int = 32

    def build(self) -> PatchTSTPredictor:
        """A new unfitted :class:`PatchTSTPredictor`."""
        return PatchTSTPredictor(**asdict(self))


class PatchTSTPredictor(GaussianPredictor):
    """PatchTST estimator: ``fit(ohlcv_channels(frame), targets)``, ``predict`` likewise."""

    def __init__(self, **params: Any) -> None:
        self.config = PatchTSTConfig(**params)
        self.random_state = self.config.random_state

    def _net(self, n_features: int) -> nn.Module:
        return PatchTSTNet(n_features, self.config)  # type: ignore[arg-type]

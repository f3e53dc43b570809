"""Temporal encoders over a ``(batch, length, channels)`` sequence -> ``(batch, hidden)``.

* ``tcn``: dilated causal 1-D convolutions with residual connections (Bai, Kolter &
  Koltun 2018); the output at the last step sees the whole window, never later steps.
* ``lstm``: one LSTM layer, last hidden state (Hochreiter & Schmidhuber 1997).
* ``transformer``: a small causal Transformer encoder with learned positions (Vaswani et
  al. 2017); the last position's output.
* ``mamba``: a selective state-space layer in plain PyTorch (Gu & Dao 2023): per channel
  ``h_t = exp(dt_t * A) * h_{t-1} + dt_t * B_t * u_t``, ``y_t = C_t . h_t + D * u_t`` with
  input-dependent ``dt_t, B_t, C_t``; a sequential scan, linear in the sequence length.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 (PyTorch convention)


class _CausalBlock(nn.Module):
    def __init__(self, channels: int, dilation: int, kernel: int = 3) -> None:
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.conv = nn.Conv1d(channels, channels, kernel, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # left padding only: step t sees steps <= t
        return x + F.gelu(self.conv(F.pad(x, (self.pad, 0))))


class TCNEncoder(nn.Module):
    """Dilated causal convolutions (dilations 1, 2, 4, 8, ...)."""

    def __init__(self, in_channels: int, hidden: int, levels: int = 4) -> None:
        super().__init__()
        self.inp = nn.Conv1d(in_channels, hidden, 1)
        self.blocks = nn.Sequential(*[_CausalBlock(hidden, 2**i) for i in range(levels)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, L, C) -> (B, hidden)``: the last step's state."""
        return self.blocks(self.inp(x.transpose(1, 2)))[:, :, -1]


class LSTMEncoder(nn.Module):
    """One LSTM layer; the final hidden state."""

    def __init__(self, in_channels: int, hidden: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_channels, hidden, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, L, C) -> (B, hidden)``."""
        _, (h, _) = self.lstm(x)
        return h[-1]


class TransformerEncoder(nn.Module):
    """Causal Transformer encoder; the last position's output."""

    def __init__(self, in_channels: int, hidden: int, length: int, layers: int = 2) -> None:
        super().__init__()
        self.inp = nn.Linear(in_channels, hidden)
        self.pos = nn.Parameter(torch.zeros(1, length, hidden))
        layer = nn.TransformerEncoderLayer(hidden, 4, 2 * hidden, dropout=0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(length))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, L, C) -> (B, hidden)``.

        The layers of ``self.enc`` are applied by :func:`_post_norm_layer` (the same
        numbers, faster on CPU); only the last position's output is used, so the last layer
        computes that position alone.
        """
        length = x.shape[1]
        h = self.inp(x) + self.pos[:, -length:]
        layers = list(self.enc.layers)
        for i, layer in enumerate(layers):
            h = _post_norm_layer(layer, h, last_only=i == len(layers) - 1)
        return h[:, -1]


def _post_norm_layer(
    layer: nn.TransformerEncoderLayer, h: torch.Tensor, last_only: bool
) -> torch.Tensor:
    """``layer(h, causal mask)`` of a post-norm encoder layer (``norm_first=False``).

    Attention runs through :func:`torch.nn.functional.scaled_dot_product_attention` with
    ``is_causal=True`` (a fused kernel; the module's own fast path materialises the mask
    and is about 1.6x slower on CPU). With ``last_only`` the last position is computed
    alone: its query may attend to every key, which is what causality allows for the last
    step. The parity with ``nn.TransformerEncoder`` is tested.
    """
    attn = layer.self_attn
    batch, length, width = h.shape
    heads = attn.num_heads
    q_in = h[:, -1:] if last_only else h
    w_q, w_kv = attn.in_proj_weight[:width], attn.in_proj_weight[width:]
    b_q, b_kv = attn.in_proj_bias[:width], attn.in_proj_bias[width:]
    q = F.linear(q_in, w_q, b_q).view(batch, -1, heads, width // heads).transpose(1, 2)
    kv = F.linear(h, w_kv, b_kv).view(batch, length, 2, heads, width // heads)
    k, v = kv.permute(2, 0, 3, 1, 4)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=not last_only)
    out = attn.out_proj(out.transpose(1, 2).reshape(batch, -1, width))
    z = layer.norm1(q_in + layer.dropout1(out))
    ff = layer.linear2(layer.dropout(layer.activation(layer.linear1(z))))
    return layer.norm2(z + layer.dropout2(ff))


class MambaEncoder(nn.Module):
    """Selective state-space (Mamba-style) layer with a sequential, linear-time scan."""

    def __init__(self, in_channels: int, hidden: int, state: int = 8) -> None:
        super().__init__()
        self.inp = nn.Linear(in_channels, 2 * hidden)
        self.conv = nn.Conv1d(hidden, hidden, 4, groups=hidden)
        self.dt = nn.Linear(hidden, hidden)
        self.bc = nn.Linear(hidden, 2 * state)
        self.log_a = nn.Parameter(torch.log(torch.arange(1, state + 1).float()).repeat(hidden, 1))
        self.d = nn.Parameter(torch.ones(hidden))
        self.out = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, L, C) -> (B, hidden)``."""
        u, gate = self.inp(x).chunk(2, dim=-1)
        u = F.silu(self.conv(F.pad(u.transpose(1, 2), (3, 0))).transpose(1, 2))
        dt = F.softplus(self.dt(u))  # (B, L, H)
        b, c = self.bc(u).chunk(2, dim=-1)  # (B, L, N)
        a = -torch.exp(self.log_a)  # (H, N), negative: a stable decay
        h = torch.zeros(x.shape[0], u.shape[2], a.shape[1], device=x.device)
        for t in range(x.shape[1]):
            decay = torch.exp(dt[:, t, :, None] * a)
            h = decay * h + (dt[:, t] * u[:, t])[:, :, None] * b[:, t, None, :]
        y = (h * c[:, -1, None, :]).sum(-1) + self.d * u[:, -1]
        return self.out(y * F.silu(gate[:, -1]))


def build_encoder(kind: str, in_channels: int, hidden: int, length: int) -> nn.Module:
    """The encoder named by ``settings.models.encoder``."""
    if kind == "tcn":
        return TCNEncoder(in_channels, hidden, levels=max(1, (length - 1).bit_length() - 2))
    if kind == "lstm":
        return LSTMEncoder(in_channels, hidden)
    if kind == "transformer":
        return TransformerEncoder(in_channels, hidden, length)
    if kind == "mamba":
        return MambaEncoder(in_channels, hidden)
    raise ValueError(f"unknown encoder {kind!r}; use tcn, lstm, transformer or mamba")

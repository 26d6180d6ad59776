"""Window-in, horizon-out forecasters: a recurrent network, an MLP or a Transformer encoder reads the last
``window`` points of a series and forecasts the next ``horizon``.

Papers: J. L. Elman, "Finding Structure in Time", 1990 (the RNN, h_t = tanh(W x_t + U h_{t-1} + b));
S. Hochreiter, J. Schmidhuber, "Long Short-Term Memory", 1997 (the LSTM); K. Cho et al., "Learning Phrase
Representations using RNN Encoder-Decoder for Statistical Machine Translation", 2014 (the GRU); G. Zhang,
B. E. Patuwo, M. Y. Hu, "Forecasting with artificial neural networks: the state of the art", 1998 (an MLP on
the lagged values); A. Vaswani et al., "Attention Is All You Need", 2017 (the encoder and decoder layers, the
sinusoidal positions), on series as in N. Wu et al., "Deep Transformer Models for Time Series Forecasting: The
Influenza Prevalence Case", 2020, and G. Zerveas et al., "A Transformer-based Framework for Multivariate Time
Series Representation Learning", 2021 (a linear projection of each time step in place of a token embedding).

The contract. ``forward(x)`` takes x (B, window, in_features): each time step's channels are the target
series first (``out_features`` of them), then covariates, already scaled (the task standardises), and returns
(B, horizon, out_features, K) in that same scale, where the last dimension holds, by ``likelihood``:

    point     K = 1    the forecast value
    gaussian  K = 2    mean, standard deviation (softplus(.) + 1e-4, so always > 0)
    quantile  K = Q    the quantiles of ``config.quantiles``, in that order, never crossing: the one nearest
                       0.5 is predicted directly, each further one as its neighbour plus softplus(.) (above)
                       or minus softplus(.) (below), so q_i < q_j gives out_i <= out_j

:func:`point_forecast` turns an output into the point forecast (B, horizon, out_features): the value, the
mean or the quantile nearest 0.5. The recurrent models accept any window length of 1 or more; the MLP and
the Transformer (whose positions are fixed) take exactly ``window`` steps.

The networks. Each reads the window into features, then a linear head maps them to the outputs:

    rnn | lstm | gru   torch.nn.RNN / LSTM / GRU, ``layers`` stacked, ``hidden`` wide; feature = the top
                       layer's output at the last step (dropout between layers and before the head)
    mlp                the window flattened, ``layers`` of Linear -> ReLU -> Dropout, ``hidden`` wide
    transformer        x_t W + PE_t, ``layers`` pre-norm encoder layers (d_model = ``hidden``, ``heads``
                       heads, feed-forward 2 * hidden, GELU), a final LayerNorm; ``structure="encoder"``:
                       feature = the last step's state; ``structure="encoder_decoder"``: one learned query
                       per forecast step (plus the position PE_{window + h}) through ``layers`` pre-norm
                       decoder layers that cross-attend to the encoded window, one feature per step

``decoder="direct"``: the head emits every horizon step at once (H * out_features * K outputs, or K per step
for the encoder-decoder). ``decoder="autoregressive"``: the head emits one step; its point forecast is fed
back as the next input, horizon times, gradients flowing through the fed-back values (no teacher forcing:
the model trains on its own forecasts, as it forecasts). The recurrent models carry their state on by one
step; the MLP and the Transformer slide their window by one step and read it again. The next input must be
a whole time step, so autoregressive decoding needs ``in_features == out_features``: the future of a
covariate is unknown.

``residual=True`` adds the last observed target value x[:, -1, :out_features] to the forecast (the mean, or
the quantile nearest 0.5; each autoregressive step adds the value fed in last), so the network learns the
change from the naive last-value forecast. The head starts at zero (weights and biases), so an untrained
model forecasts exactly the last value (or, with ``residual=False``, the training mean, 0 after scaling).

Deviations: the papers forecast one step ahead; the horizon head, the residual skip, the zero-initialised
head, the likelihoods and the encoder-decoder's learned queries are this module's choices. The Transformer
is pre-norm (Xiong et al. 2020) rather than the paper's post-norm, and its feed-forward is 2 * d_model wide
(the paper's 4 * d_model is large for series of a few hundred points).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo import nn as ref
from archzoo.registry import register_model

__all__ = ["Forecaster", "ForecasterConfig", "num_outputs", "point_forecast"]

DECODERS = ("direct", "autoregressive")
STRUCTURES = ("encoder", "encoder_decoder")
MIN_STD = 1e-4  # the smallest standard deviation a Gaussian forecaster predicts
FF_MULT = 2  # the Transformer's feed-forward width, in units of d_model


def _median_index(quantiles: Sequence[float]) -> int:
    """The index of the quantile nearest 0.5 (the first of a tie)."""
    return min(range(len(quantiles)), key=lambda i: abs(quantiles[i] - 0.5))


# likelihood -> (K, the outputs per forecast value; the index of the point forecast among them)
LIKELIHOODS: dict[str, tuple[Callable[[Sequence[float]], int], Callable[[Sequence[float]], int]]] = {
    "point": (lambda q: 1, lambda q: 0),
    "gaussian": (lambda q: 2, lambda q: 0),
    "quantile": (len, _median_index),
}


def _check_likelihood(likelihood: str) -> None:
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"unknown likelihood {likelihood!r}; choose one of: {', '.join(LIKELIHOODS)}")


def num_outputs(likelihood: str, quantiles: Sequence[float] = ()) -> int:
    """K, the size of the output's last dimension: 1 (point), 2 (gaussian) or len(quantiles) (quantile)."""
    _check_likelihood(likelihood)
    return LIKELIHOODS[likelihood][0](quantiles)


def point_forecast(out: Tensor, likelihood: str, quantiles: Sequence[float] = ()) -> Tensor:
    """A forecaster's output (..., K) -> its point forecast (...): the value, the mean, or the quantile nearest
    0.5. Raises ValueError for an unknown likelihood or an output whose K does not fit it."""
    k = num_outputs(likelihood, quantiles)
    if out.ndim < 1 or out.shape[-1] != k:
        raise ValueError(f"a {likelihood} forecast has {k} value(s) in its last dimension, (B, horizon, "
                         f"out_features, {k}); got {tuple(out.shape)}")
    return out[..., LIKELIHOODS[likelihood][1](quantiles)]


@dataclass(frozen=True)
class ForecasterConfig:
    kind: str = "lstm"  # rnn | lstm | gru | mlp | transformer
    in_features: int = 1  # input channels per time step: the targets first, then covariates
    out_features: int = 1  # target channels forecast
    window: int = 24  # input time steps
    horizon: int = 12  # output time steps
    hidden: int = 64  # recurrent state, MLP width, or the Transformer's d_model
    layers: int = 2
    dropout: float = 0.0
    decoder: str = "direct"  # direct (all steps at once) | autoregressive (one step at a time, fed back)
    likelihood: str = "point"  # point | gaussian | quantile
    quantiles: tuple[float, ...] = (0.025, 0.1, 0.5, 0.9, 0.975)  # likelihood="quantile" only
    heads: int = 4  # transformer: attention heads
    structure: str = "encoder"  # transformer: encoder | encoder_decoder
    residual: bool = True  # forecast the change from the last observed target value

    def __post_init__(self) -> None:
        object.__setattr__(self, "quantiles", tuple(float(q) for q in self.quantiles))  # a list from --set
        for key, value, valid in (("kind", self.kind, tuple(KINDS)), ("decoder", self.decoder, DECODERS),
                                  ("likelihood", self.likelihood, tuple(LIKELIHOODS)),
                                  ("structure", self.structure, STRUCTURES)):
            if value not in valid:
                raise ValueError(f"unknown {key} {value!r}; choose one of: {', '.join(valid)}")
        sizes = dict(in_features=self.in_features, out_features=self.out_features, window=self.window,
                     horizon=self.horizon, hidden=self.hidden, layers=self.layers, heads=self.heads)
        for key, value in sizes.items():
            if value < 1:
                raise ValueError(f"{key} must be positive, got {value}")
        if self.out_features > self.in_features:
            raise ValueError(f"out_features={self.out_features} must not exceed in_features={self.in_features}: "
                             "the targets are the first channels of the input")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not self.quantiles or not all(0 < q < 1 for q in self.quantiles) \
                or len(set(self.quantiles)) != len(self.quantiles):
            raise ValueError(f"quantiles must be distinct levels in (0, 1), got {self.quantiles}")
        if self.kind == "transformer" and self.hidden % self.heads:
            raise ValueError(f"hidden={self.hidden} (d_model) must be divisible by heads={self.heads}")
        if self.decoder == "autoregressive" and self.in_features != self.out_features:
            raise ValueError(f"decoder='autoregressive' feeds each forecast back as the next input, so it needs "
                             f"in_features == out_features, got {self.in_features} and {self.out_features}: the "
                             "inputs beyond the targets (covariates, calendar) are not forecast; use decoder='direct'")


class RecurrentBody(nn.Module):
    """Window (B, T, in_features) -> the top layer's last output (B, 1, hidden); ``advance`` steps the state on."""

    def __init__(self, cfg: ForecasterConfig, runner: type[nn.RNNBase]) -> None:
        super().__init__()
        self.steps = 1
        self.rnn = runner(cfg.in_features, cfg.hidden, cfg.layers, batch_first=True,
                          dropout=cfg.dropout if cfg.layers > 1 else 0.0)
        self.drop = nn.Dropout(cfg.dropout)

    def start(self, x: Tensor) -> tuple[Tensor, Any]:
        out, state = self.rnn(x)  # (B, T, hidden)
        return self.drop(out[:, -1:]), state

    def advance(self, new: Tensor, state: Any) -> tuple[Tensor, Any]:
        """One more input step (B, 1, in_features) from the carried state."""
        out, state = self.rnn(new, state)  # (B, 1, hidden)
        return self.drop(out), state


class SlidingWindow(nn.Module):
    """A reader of a fixed window: ``advance`` drops the oldest step, appends the new one and reads again."""

    def start(self, x: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def advance(self, new: Tensor, window: Tensor) -> tuple[Tensor, Tensor]:
        return self.start(torch.cat([window[:, 1:], new], dim=1))  # (B, window, in_features)


class MlpBody(SlidingWindow):
    """Window (B, W, in_features) flattened -> ``layers`` of Linear -> ReLU -> Dropout -> (B, 1, hidden)."""

    def __init__(self, cfg: ForecasterConfig) -> None:
        super().__init__()
        self.steps = 1
        widths = [cfg.window * cfg.in_features] + [cfg.hidden] * cfg.layers
        self.net = nn.Sequential(*(m for fan_in, fan_out in pairwise(widths)
                                   for m in (nn.Linear(fan_in, fan_out), nn.ReLU(), nn.Dropout(cfg.dropout))))

    def start(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.net(x.flatten(1)).unsqueeze(1), x  # (B, W * in_features) -> (B, 1, hidden)


class TransformerBody(SlidingWindow):
    """Window (B, W, in_features) -> the encoded last step (B, 1, d), or ``steps`` decoded queries (B, steps, d)."""

    def __init__(self, cfg: ForecasterConfig) -> None:
        super().__init__()
        d, decode = cfg.hidden, cfg.structure == "encoder_decoder"
        self.window = cfg.window
        self.steps = cfg.horizon if decode and cfg.decoder == "direct" else 1
        self.proj = nn.Linear(cfg.in_features, d)
        # positions 0..W-1 for the window, W..W+steps-1 for the decoder's queries
        self.register_buffer("pe", ref.sinusoidal_positional_encoding(cfg.window + self.steps, d)[None],
                             persistent=False)  # (1, W + steps, d)
        self.drop = nn.Dropout(cfg.dropout)
        layer_args = dict(d_model=d, nhead=cfg.heads, dim_feedforward=FF_MULT * d, dropout=cfg.dropout,
                          activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.ModuleList(nn.TransformerEncoderLayer(**layer_args) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(d)
        self.queries: nn.Parameter | None = None
        if decode:
            self.queries = nn.Parameter(torch.empty(self.steps, d))
            nn.init.normal_(self.queries, std=0.02)
            self.decoder = nn.ModuleList(nn.TransformerDecoderLayer(**layer_args) for _ in range(cfg.layers))
            self.decoder_norm = nn.LayerNorm(d)

    def start(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.drop(self.proj(x) + self.pe[:, :self.window])  # (B, W, d)
        for layer in self.encoder:
            h = layer(h)
        memory = self.norm(h)
        if self.queries is None:
            return memory[:, -1:], x  # (B, 1, d)
        q = self.drop(self.queries.expand(len(x), -1, -1) + self.pe[:, self.window:])  # (B, steps, d)
        for layer in self.decoder:
            q = layer(q, memory)
        return self.decoder_norm(q), x  # (B, steps, d)


KINDS: dict[str, Callable[[ForecasterConfig], nn.Module]] = {
    "rnn": partial(RecurrentBody, runner=nn.RNN),
    "lstm": partial(RecurrentBody, runner=nn.LSTM),
    "gru": partial(RecurrentBody, runner=nn.GRU),
    "mlp": MlpBody,
    "transformer": TransformerBody,
}


def _point(raw: Tensor, base: Tensor, quantiles: tuple[float, ...]) -> Tensor:
    return raw + base.unsqueeze(-1)


def _gaussian(raw: Tensor, base: Tensor, quantiles: tuple[float, ...]) -> Tensor:
    mean, std = raw[..., 0] + base, F.softplus(raw[..., 1]) + MIN_STD
    return torch.stack([mean, std], dim=-1)  # (B, S, C, 2)


def _quantile(raw: Tensor, base: Tensor, quantiles: tuple[float, ...]) -> Tensor:
    """raw (B, S, C, Q), read in ascending order of level: the centre (nearest 0.5) directly, the others as
    cumulative softplus steps away from it; returned in the order of ``quantiles``."""
    order = sorted(range(len(quantiles)), key=quantiles.__getitem__)
    m = _median_index([quantiles[i] for i in order])
    raw = raw[..., order]
    centre = raw[..., m:m + 1] + base.unsqueeze(-1)  # (B, S, C, 1)
    above = centre + torch.cumsum(F.softplus(raw[..., m + 1:]), dim=-1)
    below = centre - torch.cumsum(F.softplus(raw[..., :m]).flip(-1), dim=-1).flip(-1)
    ascending = torch.cat([below, centre, above], dim=-1)  # (B, S, C, Q)
    return ascending[..., sorted(range(len(order)), key=order.__getitem__)]  # back to the config's order


OUTPUTS: dict[str, Callable[[Tensor, Tensor, tuple[float, ...]], Tensor]] = {
    "point": _point, "gaussian": _gaussian, "quantile": _quantile,
}


class Forecaster(nn.Module):
    """x (B, window, in_features) -> forecasts (B, horizon, out_features, K); see the module docstring."""

    def __init__(self, cfg: ForecasterConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.k = num_outputs(cfg.likelihood, cfg.quantiles)
        self.body = KINDS[cfg.kind](cfg)
        steps = cfg.horizon if cfg.decoder == "direct" else 1  # forecast steps per forward of the body
        self.steps_per_feature = steps // self.body.steps
        self.head = nn.Linear(cfg.hidden, self.steps_per_feature * cfg.out_features * self.k)
        nn.init.zeros_(self.head.weight)  # the forecast starts as the last value (residual) or zero
        nn.init.zeros_(self.head.bias)

    def _check_input(self, x: Tensor) -> None:
        cfg = self.cfg
        fixed = cfg.kind in ("mlp", "transformer")
        steps = f"window={cfg.window}" if fixed else "T >= 1"
        if (x.ndim != 3 or not x.is_floating_point() or x.shape[2] != cfg.in_features
                or (fixed and x.shape[1] != cfg.window) or x.shape[1] < 1):
            raise ValueError(f"{cfg.kind} forecaster expects a float tensor (B, {steps}, in_features="
                             f"{cfg.in_features}), got {tuple(x.shape)} {x.dtype}")

    def _emit(self, features: Tensor, last: Tensor) -> Tensor:
        """Features (B, S, hidden) and the last target values (B, 1, C) -> forecasts (B, S * steps, C, K)."""
        b, s, _ = features.shape
        raw = self.head(features).view(b, s * self.steps_per_feature, self.cfg.out_features, self.k)
        base = last if self.cfg.residual else torch.zeros_like(last)
        return OUTPUTS[self.cfg.likelihood](raw, base, self.cfg.quantiles)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        cfg = self.cfg
        last = x[:, -1:, :cfg.out_features]  # (B, 1, C)
        features, carry = self.body.start(x)
        if cfg.decoder == "direct":
            return self._emit(features, last)  # (B, H, C, K)
        outs = []
        for step in range(cfg.horizon):
            outs.append(self._emit(features, last))  # (B, 1, C, K)
            if step + 1 < cfg.horizon:
                last = point_forecast(outs[-1], cfg.likelihood, cfg.quantiles)  # (B, 1, C): the next input
                features, carry = self.body.advance(last, carry)
        return torch.cat(outs, dim=1)  # (B, H, C, K)


_VARIANTS = (
    ("rnn_forecaster", ForecasterConfig(kind="rnn"), "Finding Structure in Time", 1990,
     "https://doi.org/10.1207/s15516709cog1402_1", "Elman RNN (tanh), 2 layers of 64, direct 12-step head"),
    ("lstm_forecaster", ForecasterConfig(kind="lstm"), "Long Short-Term Memory", 1997,
     "https://doi.org/10.1162/neco.1997.9.8.1735", "LSTM, 2 layers of 64, direct 12-step head"),
    ("gru_forecaster", ForecasterConfig(kind="gru"),
     "Learning Phrase Representations using RNN Encoder-Decoder for Statistical Machine Translation", 2014,
     "https://arxiv.org/abs/1406.1078", "GRU, 2 layers of 64, direct 12-step head"),
    ("mlp_forecaster", ForecasterConfig(kind="mlp", hidden=128),
     "Forecasting with artificial neural networks: the state of the art", 1998,
     "https://doi.org/10.1016/S0169-2070(97)00044-7", "MLP on the flattened window, 2 hidden layers of 128"),
    ("transformer_forecaster", ForecasterConfig(kind="transformer", dropout=0.1), "Attention Is All You Need", 2017,
     "https://arxiv.org/abs/1706.03762", "pre-norm Transformer encoder, 2 layers, d_model 64, 4 heads, sinusoidal "
     "positions, head on the last step (on series: Wu et al. 2020, arXiv:2001.08317; Zerveas et al. 2021, "
     "arXiv:2010.02803)"),
)
for _name, _cfg, _paper, _year, _url, _notes in _VARIANTS:
    _size = (_cfg.window, _cfg.in_features)
    register_model(_name, Forecaster, _cfg, family="forecaster", task="forecasting", paper=_paper, year=_year,
                   url=_url, input_size=_size, min_input_size=_size, inputs="real", notes=_notes,
                   small_input="a window of config.window steps (the recurrent models take any length of 1 or more)")

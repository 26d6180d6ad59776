"""A sequence autoencoder for time-series anomaly detection: a recurrent encoder reads a window into a small
code, a recurrent decoder reconstructs the window from it, and the points it reconstructs badly are anomalies.

Paper: P. Malhotra, A. Ramakrishnan, G. Anand, L. Vig, P. Agarwal, G. Shroff, "LSTM-based Encoder-Decoder for
Multi-sensor Anomaly Detection", ICML Anomaly Detection Workshop, 2016 (https://arxiv.org/abs/1607.00148),
built from S. Hochreiter, J. Schmidhuber, "Long Short-Term Memory", 1997 (the LSTM) and K. Cho et al.,
"Learning Phrase Representations using RNN Encoder-Decoder for Statistical Machine Translation", 2014 (the
GRU and the encoder-decoder).

The contract. ``forward(x)`` takes x (B, window, in_features), already scaled (the task standardises), and
returns its reconstruction (B, window, in_features), in the input's order and scale. ``encode(x)`` gives the
code (B, code). :func:`reconstruction_error` scores every step: the squared error averaged over the features,
(B, window); the anomaly task turns these errors into anomaly scores and thresholds.

The network (``kind`` = lstm | gru: torch.nn.LSTM / GRU, ``layers`` stacked, ``hidden`` wide)::

    encoder    h_1 .. h_L = RNN_E(x_1 .. x_L)            the top layer's outputs, L = window
    code       z = W_z h_L + b_z                         (B, code): the bottleneck, linear
    state      s_0 = tanh(W_s z + b_s)                   every layer's initial decoder state ((h, c) for the LSTM)
    decoder    ``decoder="repeat"``: the input at every step is z (a "RepeatVector" decoder);
                   h'_1 .. h'_L = RNN_D(z, .., z; s_0),  x'_t = W_o h'_t + b_o
               ``decoder="reverse"`` (the paper's): the window is reconstructed last step first, each step
                   fed the value reconstructed before it;
                   x'_L = W_o h'_L with h'_L the top layer of s_0,  h'_{t-1} = RNN_D(x'_t; h'_t),
                   x'_{t-1} = W_o h'_{t-1} + b_o,  then flipped back to the order 1 .. L

Dropout (``dropout``) sits between stacked layers, before the code projection and before the output head.

Deviations. The paper hands the encoder's final state to the decoder as it is; here it passes through the
``code``-wide linear bottleneck and back (tanh keeps the decoder's initial state in the range a recurrent
state takes), so the code's size is a setting. The paper's decoder is fed the true value x_t during training
(teacher forcing) and its own reconstruction x'_t at inference; ``decoder="reverse"`` always feeds back its
own reconstruction, gradients flowing through the fed-back values, so training and scoring run the same
deterministic computation. The default ``decoder="repeat"`` is the simpler variant most implementations use:
it has no feedback loop, so one call of the recurrent layer decodes the whole window. The paper scores a
point by the Mahalanobis distance of its error vector under a Gaussian fitted on validation errors; that
belongs to the anomaly task, which reads :func:`reconstruction_error`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from archzoo.registry import register_model

__all__ = ["KINDS", "SeriesAutoencoder", "SeriesAutoencoderConfig", "reconstruction_error"]

# kind -> (torch's recurrent layer, the tensors in its state: (h, c) for the LSTM, h for the GRU)
KINDS: dict[str, tuple[type[nn.RNNBase], int]] = {
    "lstm": (nn.LSTM, 2),
    "gru": (nn.GRU, 1),
}
DECODERS = ("repeat", "reverse")


@dataclass(frozen=True)
class SeriesAutoencoderConfig:
    kind: str = "lstm"  # lstm | gru
    in_features: int = 1  # channels per time step
    window: int = 32  # time steps per window
    hidden: int = 32  # recurrent state of encoder and decoder
    code: int = 8  # the bottleneck: the encoder's final state is projected to this many dimensions
    layers: int = 1
    dropout: float = 0.0
    decoder: str = "repeat"  # repeat (the code is every step's input) | reverse (the paper's: last step first)

    def __post_init__(self) -> None:
        for key, value, valid in (("kind", self.kind, tuple(KINDS)), ("decoder", self.decoder, DECODERS)):
            if value not in valid:
                raise ValueError(f"unknown {key} {value!r}; choose one of: {', '.join(valid)}")
        sizes = dict(in_features=self.in_features, window=self.window, hidden=self.hidden, code=self.code,
                     layers=self.layers)
        for key, value in sizes.items():
            if value < 1:
                raise ValueError(f"{key} must be positive, got {value}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


def _as_state(parts: Tensor) -> Tensor | tuple[Tensor, Tensor]:
    """(P, layers, B, hidden) -> the state torch's layer takes: (h, c) for the LSTM (P = 2), h for the GRU."""
    return (parts[0], parts[1]) if len(parts) == 2 else parts[0]


class SeriesAutoencoder(nn.Module):
    """x (B, window, in_features) -> its reconstruction (B, window, in_features); see the module docstring."""

    def __init__(self, cfg: SeriesAutoencoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        runner, self.state_parts = KINDS[cfg.kind]
        between = cfg.dropout if cfg.layers > 1 else 0.0
        self.encoder = runner(cfg.in_features, cfg.hidden, cfg.layers, batch_first=True, dropout=between)
        self.to_code = nn.Linear(cfg.hidden, cfg.code)
        self.from_code = nn.Linear(cfg.code, self.state_parts * cfg.layers * cfg.hidden)
        step_input = cfg.code if cfg.decoder == "repeat" else cfg.in_features
        self.decoder = runner(step_input, cfg.hidden, cfg.layers, batch_first=True, dropout=between)
        self.head = nn.Linear(cfg.hidden, cfg.in_features)
        self.drop = nn.Dropout(cfg.dropout)

    def _check_input(self, x: Tensor) -> None:
        cfg = self.cfg
        if x.ndim != 3 or not x.is_floating_point() or tuple(x.shape[1:]) != (cfg.window, cfg.in_features):
            raise ValueError(f"{cfg.kind} series autoencoder expects a float tensor (B, window={cfg.window}, "
                             f"in_features={cfg.in_features}), got {tuple(x.shape)} {x.dtype}")

    def encode(self, x: Tensor) -> Tensor:
        """x (B, window, in_features) -> the code (B, code)."""
        self._check_input(x)
        out, _ = self.encoder(x)  # (B, window, hidden): the top layer's outputs
        return self.to_code(self.drop(out[:, -1]))  # (B, code)

    def decode(self, z: Tensor) -> Tensor:
        """A code (B, code) -> a reconstructed window (B, window, in_features), in the input's order."""
        cfg = self.cfg
        if z.ndim != 2 or z.shape[1] != cfg.code:
            raise ValueError(f"decode expects a code (B, code={cfg.code}), got {tuple(z.shape)}")
        parts = torch.tanh(self.from_code(z))  # (B, P * layers * hidden)
        parts = parts.view(len(z), self.state_parts, cfg.layers, cfg.hidden)  # (B, P, layers, hidden)
        parts = parts.permute(1, 2, 0, 3).contiguous()  # (P, layers, B, hidden)
        state = _as_state(parts)
        if cfg.decoder == "repeat":
            out, _ = self.decoder(z.unsqueeze(1).expand(-1, cfg.window, -1), state)  # (B, window, hidden)
            return self.head(self.drop(out))  # (B, window, in_features)
        # reverse: x'_L from the initial state's top layer, then each x'_t is the next (earlier) step's input
        steps = [self.head(self.drop(parts[0, -1]))]  # [(B, in_features)]
        for _ in range(cfg.window - 1):
            out, state = self.decoder(steps[-1].unsqueeze(1), state)  # (B, 1, hidden)
            steps.append(self.head(self.drop(out[:, 0])))
        return torch.stack(steps[::-1], dim=1)  # (B, window, in_features), steps 1 .. L

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))


def reconstruction_error(model: nn.Module, x: Tensor) -> Tensor:
    """The squared reconstruction error of every step, averaged over the features: x (B, window, in_features)
    -> (B, window). It keeps gradients (its mean is the training loss); to score, call it under
    ``torch.no_grad()`` with the model in eval mode."""
    return (model(x) - x).square().mean(dim=-1)


_VARIANTS = (
    ("lstm_autoencoder", SeriesAutoencoderConfig(kind="lstm"),
     "LSTM-based Encoder-Decoder for Multi-sensor Anomaly Detection", 2016, "https://arxiv.org/abs/1607.00148",
     "LSTM encoder and decoder of 32, an 8-dim code, the code fed at every decoder step (decoder='reverse': the "
     "paper's reverse-order decoder fed its own reconstructions); anomalies by reconstruction error"),
)
for _name, _cfg, _paper, _year, _url, _notes in _VARIANTS:
    _size = (_cfg.window, _cfg.in_features)
    register_model(_name, SeriesAutoencoder, _cfg, family="series_autoencoder", task="anomaly", paper=_paper,
                   year=_year, url=_url, input_size=_size, min_input_size=_size, inputs="real", notes=_notes,
                   small_input="exactly config.window steps of config.in_features channels")

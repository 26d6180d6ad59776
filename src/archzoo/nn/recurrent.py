"""Recurrent cells written as their gate equations, and the multi-layer runners that drive them.

Papers:
- Elman, "Finding Structure in Time", 1990 (the simple recurrent network).
- Hochreiter & Schmidhuber, "Long Short-Term Memory", 1997; the forget gate from Gers, Schmidhuber
  & Cummins, "Learning to Forget", 2000. https://doi.org/10.1162/neco.1997.9.8.1735
- Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder", 2014 (the GRU).
  https://arxiv.org/abs/1406.1078

Layout matches torch.nn exactly so weights move both ways: ``weight_ih`` stacks the gates' input
weights (LSTM order i, f, g, o; GRU order r, z, n), each gate with its own ``bias_ih`` and ``bias_hh``;
the runners name them ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``
(``_reverse`` for the backward direction). Every weight starts U(-1/sqrt(H), 1/sqrt(H)).

Deviations from torch.nn: no PackedSequence inputs and no LSTM ``proj_size``.

Speed: the input projections x_t W_ih^T + b for all time steps are one matmul before the loop;
only the recurrent part h_{t-1} W_hh^T runs step by step. The loop bodies (``*_recurrence``) are
plain functions that TorchScript can compile; ``recurrence`` on a runner can be swapped for a
scripted or compiled version (benchmarks/reference_kernels.py measures both). Inside the loop the
gate nonlinearities are torch.sigmoid / torch.tanh: the same equations as
:func:`archzoo.nn.functional.sigmoid` and ``tanh`` (proven there), at kernel speed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import Tensor, nn

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "GRUCell",
    "LSTMCell",
    "RNNCell",
    "clip_grad_norm_",
    "detach_state",
    "gru_recurrence",
    "lstm_recurrence",
    "lstm_recurrence_bptt",
    "rnn_relu_recurrence",
    "rnn_tanh_recurrence",
    "train_tbptt",
]

# A recurrence runs one layer in one direction over the whole sequence:
# (xp (T, B, G*H) input projections with biases, h0 (B, H), c0 (B, H) or empty, W_hh (G*H, H),
#  b_hh (G*H,) for the GRU's candidate) -> (outputs (T, B, H), h_T, c_T).
Recurrence = Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], tuple[Tensor, Tensor, Tensor]]


# ----------------------------------------------------------------------------------------------
# One step of each cell: gx = W_ih x_t + b_ih (+ b_hh where it simply adds)
# ----------------------------------------------------------------------------------------------


def rnn_tanh_step(gx: Tensor, h: Tensor, w_hh: Tensor) -> Tensor:
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."""
    return torch.tanh(torch.addmm(gx, h, w_hh.t()))


def rnn_relu_step(gx: Tensor, h: Tensor, w_hh: Tensor) -> Tensor:
    """Elman RNN with ReLU: h_t = max(0, W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."""
    return torch.relu(torch.addmm(gx, h, w_hh.t()))


def lstm_step(gx: Tensor, h: Tensor, c: Tensor, w_hh: Tensor) -> tuple[Tensor, Tensor]:
    """LSTM with forget gate. With [W_i; W_f; W_g; W_o] stacked in W_ih and W_hh:

        i_t = sigma(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)      input gate
        f_t = sigma(W_if x_t + b_if + W_hf h_{t-1} + b_hf)      forget gate
        g_t = tanh (W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)      candidate C~_t
        o_t = sigma(W_io x_t + b_io + W_ho h_{t-1} + b_ho)      output gate
        C_t = f_t * C_{t-1} + i_t * g_t
        h_t = o_t * tanh(C_t)

    (The "W_C [h_{t-1}, x_t] + b_C" of the usual write-up is W_ig x_t + W_hg h_{t-1} with the
    concatenated weight split in two, and b_C = b_ig + b_hg.)
    """
    gates = torch.addmm(gx, h, w_hh.t())  # (B, 4H)
    i, f, g, o = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, c


def gru_step(gx: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor) -> Tensor:
    """GRU (torch's and cuDNN's form). With [W_r; W_z; W_n] stacked:

        r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)            reset gate
        z_t = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)            update gate
        n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))     candidate h~_t
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    The reset gate scales the previous state's *contribution* W_hn h_{t-1} + b_hn, inside the tanh
    (Cho et al. 2014 write W (r_t * h_{t-1}), the same up to where b_hn sits); write-ups that put
    "x r_t" outside the bracket, tanh(W [h_{t-1}, x_t] x r_t), would gate the input too.
    """
    gh = torch.addmm(b_hh, h, w_hh.t())  # (B, 3H): W_hh h_{t-1} + b_hh
    x_r, x_z, x_n = gx.chunk(3, 1)
    h_r, h_z, h_n = gh.chunk(3, 1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1.0 - z) * n + z * h


# ----------------------------------------------------------------------------------------------
# Recurrences over a whole sequence (TorchScript-able)
# ----------------------------------------------------------------------------------------------


def rnn_tanh_recurrence(xp: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Runs rnn_tanh_step over time: xp (T, B, H) -> outputs (T, B, H), h_T, c (unused)."""
    outputs: list[Tensor] = []
    for gx in xp.unbind(0):  # unbind, not xp[t]: backward then stacks once instead of T full-size zeros
        h = rnn_tanh_step(gx, h, w_hh)
        outputs.append(h)
    return torch.stack(outputs), h, c


def rnn_relu_recurrence(xp: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Runs rnn_relu_step over time: xp (T, B, H) -> outputs (T, B, H), h_T, c (unused)."""
    outputs: list[Tensor] = []
    for gx in xp.unbind(0):
        h = rnn_relu_step(gx, h, w_hh)
        outputs.append(h)
    return torch.stack(outputs), h, c


def lstm_recurrence(xp: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Runs lstm_step over time: xp (T, B, 4H) -> outputs (T, B, H), h_T, C_T."""
    outputs: list[Tensor] = []
    for gx in xp.unbind(0):
        h, c = lstm_step(gx, h, c, w_hh)
        outputs.append(h)
    return torch.stack(outputs), h, c


class _LSTMThroughTime(torch.autograd.Function):
    """The LSTM recurrence with backpropagation through time written out (no autograd graph).

    Forward stores the gate activations a_t = [i, f, g, o], C_t and h_{t-1}; backward walks t = T..1:
        dh_t += dout_t                       (the output's gradient joins the recurrent one)
        do = dh_t tanh(C_t),   dC += dh_t o (1 - tanh^2 C_t)
        di = dC g,  df = dC C_{t-1},  dg = dC i,  then dC <- dC f for step t - 1
        dz_t = [di i(1-i), df f(1-f), dg (1-g^2), do o(1-o)]        (through sigma and tanh)
        dh_{t-1} = dz_t W_hh
    and after the loop: d xp = dz (all steps), dW_hh = sum_t dz_t^T h_{t-1} (one matmul).
    """

    @staticmethod
    def forward(ctx, xp: Tensor, h: Tensor, c: Tensor, w_hh: Tensor) -> tuple[Tensor, Tensor, Tensor]:  # type: ignore[override]
        T, H = xp.shape[0], h.shape[1]
        w_t = w_hh.t()
        hs = xp.new_empty(T + 1, *h.shape)  # h_0 .. h_T
        cs = xp.new_empty(T + 1, *c.shape)  # C_0 .. C_T
        acts = torch.empty_like(xp)  # (T, B, 4H): i, f, g, o
        hs[0], cs[0] = h, c
        for t in range(T):
            z = torch.addmm(xp[t], hs[t], w_t)  # (B, 4H)
            a = acts[t]
            torch.sigmoid(z, out=a)
            torch.tanh(z[:, 2 * H : 3 * H], out=a[:, 2 * H : 3 * H])
            i, f, g, o = a.chunk(4, 1)
            torch.addcmul(f * cs[t], i, g, out=cs[t + 1])
            torch.mul(o, torch.tanh(cs[t + 1]), out=hs[t + 1])
        ctx.save_for_backward(hs, cs, acts, w_hh)
        return hs[1:], hs[T].clone(), cs[T].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_out: Tensor, d_hT: Tensor, d_cT: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:  # type: ignore[override]
        hs, cs, acts, w_hh = ctx.saved_tensors
        T, H = acts.shape[0], hs.shape[2]
        dz = torch.empty_like(acts)
        dh = d_hT.clone()
        dc = d_cT.clone()
        for t in range(T - 1, -1, -1):
            dh += d_out[t]
            i, f, g, o = acts[t].chunk(4, 1)
            tc = torch.tanh(cs[t + 1])
            dc += dh * o * (1 - tc * tc)
            di, df, dg, do = dz[t].chunk(4, 1)
            torch.mul(dc * g, i * (1 - i), out=di)
            torch.mul(dc * cs[t], f * (1 - f), out=df)
            torch.mul(dc * i, 1 - g * g, out=dg)
            torch.mul(dh * tc, o * (1 - o), out=do)
            dc *= f
            dh = dz[t] @ w_hh  # (B, H)
        d_w = dz.reshape(-1, 4 * H).t() @ hs[:-1].reshape(-1, H)  # (4H, H): sum over t and b
        return dz, dh, dc, d_w


def lstm_recurrence_bptt(xp: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """lstm_recurrence with a hand-written backward pass (_LSTMThroughTime): same values, same
    gradients, no per-step autograd graph. Not twice differentiable."""
    return _LSTMThroughTime.apply(xp, h, c, w_hh)


def gru_recurrence(xp: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Runs gru_step over time: xp (T, B, 3H) -> outputs (T, B, H), h_T, c (unused)."""
    outputs: list[Tensor] = []
    for gx in xp.unbind(0):
        h = gru_step(gx, h, w_hh, b_hh)
        outputs.append(h)
    return torch.stack(outputs), h, c


# mode -> (gates per cell, recurrence, does b_hh fold into the input projection?)
_MODES: dict[str, tuple[int, Recurrence, bool]] = {
    "RNN_TANH": (1, rnn_tanh_recurrence, True),
    "RNN_RELU": (1, rnn_relu_recurrence, True),
    "LSTM": (4, lstm_recurrence, True),
    "GRU": (3, gru_recurrence, False),  # b_hn must stay inside r_t * (...)
}


def _rnn_mode(nonlinearity: str) -> str:
    modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
    if nonlinearity not in modes:
        raise ValueError(f"unknown nonlinearity {nonlinearity!r}; choose one of: {', '.join(modes)}")
    return modes[nonlinearity]


def _input_projection(x: Tensor, w_ih: Tensor, b_ih: Tensor | None, b_hh: Tensor | None, fold_b_hh: bool) -> Tensor:
    """x (..., I) -> x W_ih^T + b_ih (+ b_hh when it adds outside any gate product)."""
    out = torch.matmul(x, w_ih.t())
    if b_ih is not None:
        out = out + b_ih
    if fold_b_hh and b_hh is not None:
        out = out + b_hh
    return out


# ----------------------------------------------------------------------------------------------
# Cells: one time step, torch.nn.RNNCell / LSTMCell / GRUCell's interface
# ----------------------------------------------------------------------------------------------


class _CellBase(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool, mode: str) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias, self.mode = input_size, hidden_size, bias, mode
        gates = _MODES[mode][0]
        self.weight_ih = nn.Parameter(torch.empty(gates * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(gates * hidden_size, hidden_size))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(gates * hidden_size))
            self.bias_hh = nn.Parameter(torch.empty(gates * hidden_size))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _prepare(self, x: Tensor, hx: Tensor | None) -> tuple[Tensor, Tensor, bool]:
        if x.dim() not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__} expects (B, {self.input_size}) or ({self.input_size},), got {tuple(x.shape)}"
            )
        unbatched = x.dim() == 1
        if unbatched:
            x = x.unsqueeze(0)  # (1, I)
            hx = None if hx is None else hx.unsqueeze(0)
        if hx is None:
            hx = x.new_zeros(x.shape[0], self.hidden_size)
        gx = _input_projection(x, self.weight_ih, self.bias_ih, self.bias_hh, _MODES[self.mode][2])
        return gx, hx, unbatched

    def _b_hh(self) -> Tensor:
        return self.bias_hh if self.bias_hh is not None else self.weight_hh.new_zeros(self.weight_hh.shape[0])

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"


class RNNCell(_CellBase):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu). input (B, I) or (I,), hx (B, H) -> (B, H)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh") -> None:
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, _rnn_mode(nonlinearity))

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        gx, h, unbatched = self._prepare(input, hx)
        step = rnn_tanh_step if self.mode == "RNN_TANH" else rnn_relu_step
        h = step(gx, h, self.weight_hh)
        return h.squeeze(0) if unbatched else h


class LSTMCell(_CellBase):
    """One LSTM step (equations in :func:`lstm_step`): input (B, I), (h, c) (B, H) each -> (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__(input_size, hidden_size, bias, "LSTM")

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        gx, h, unbatched = self._prepare(input, None if hx is None else hx[0])
        c = torch.zeros_like(h) if hx is None else (hx[1].unsqueeze(0) if unbatched else hx[1])
        h, c = lstm_step(gx, h, c, self.weight_hh)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(_CellBase):
    """One GRU step (equations in :func:`gru_step`): input (B, I), hx (B, H) -> h' (B, H)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__(input_size, hidden_size, bias, "GRU")

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        gx, h, unbatched = self._prepare(input, hx)
        h = gru_step(gx, h, self.weight_hh, self._b_hh())
        return h.squeeze(0) if unbatched else h


# ----------------------------------------------------------------------------------------------
# Runners: torch.nn.RNN / LSTM / GRU's interface (multi-layer, bidirectional, batch_first, dropout)
# ----------------------------------------------------------------------------------------------


class _RNNBase(nn.Module):
    """Stacks ``num_layers`` layers; layer k > 0 reads layer k-1's outputs (both directions
    concatenated), with dropout on them in training (not after the last layer)."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bias: bool,
        batch_first: bool,
        dropout: float,
        bidirectional: bool,
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout should be a number in [0, 1], got {dropout}")
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, dropout, bidirectional
        gates, recurrence, _ = _MODES[mode]
        self.recurrence: Recurrence = recurrence  # swap for a scripted/compiled version of the same function
        num_dirs = 2 if bidirectional else 1
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else hidden_size * num_dirs
            for suffix in ["", "_reverse"][:num_dirs]:
                self.register_parameter(
                    f"weight_ih_l{layer}{suffix}", nn.Parameter(torch.empty(gates * hidden_size, layer_in))
                )
                self.register_parameter(
                    f"weight_hh_l{layer}{suffix}", nn.Parameter(torch.empty(gates * hidden_size, hidden_size))
                )
                if bias:
                    self.register_parameter(f"bias_ih_l{layer}{suffix}", nn.Parameter(torch.empty(gates * hidden_size)))
                    self.register_parameter(f"bias_hh_l{layer}{suffix}", nn.Parameter(torch.empty(gates * hidden_size)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _weights(self, layer: int, suffix: str) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        w_ih, w_hh, b_ih, b_hh = (getattr(self, f"{name}_l{layer}{suffix}", None) for name in names)
        return w_ih, w_hh, b_ih, b_hh

    def _run(self, x: Tensor, h0: Tensor, c0: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x (T, B, I), h0/c0 (L*D, B, H) -> output (T, B, D*H), h_n, c_n (L*D, B, H)."""
        fold_b_hh = _MODES[self.mode][2]
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(["", "_reverse"][: 2 if self.bidirectional else 1]):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, suffix)
                xp = _input_projection(x, w_ih, b_ih, b_hh, fold_b_hh)  # (T, B, G*H), all steps at once
                if d == 1:
                    xp = xp.flip(0)  # the backward direction reads the sequence from the end
                idx = layer * (2 if self.bidirectional else 1) + d
                b = b_hh if b_hh is not None else w_hh.new_zeros(w_hh.shape[0])
                out, h, c = self.recurrence(xp, h0[idx], c0[idx], w_hh, b)
                outs.append(out.flip(0) if d == 1 else out)
                h_n.append(h)
                c_n.append(c)
            x = outs[0] if len(outs) == 1 else torch.cat(outs, dim=2)  # (T, B, D*H)
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                x = torch.nn.functional.dropout(x, self.dropout, training=True)
        return x, torch.stack(h_n), torch.stack(c_n)

    def _forward(self, input: Tensor, h0: Tensor | None, c0: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        if input.dim() not in (2, 3) or input.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__} expects (T, B, {self.input_size}) (or batch_first "
                f"(B, T, {self.input_size}), or unbatched (T, {self.input_size})), got {tuple(input.shape)}"
            )
        unbatched = input.dim() == 2
        if unbatched:
            x = input.unsqueeze(1)  # (T, 1, I)
            h0 = None if h0 is None else h0.unsqueeze(1)
            c0 = None if c0 is None else c0.unsqueeze(1)
        else:
            x = input.transpose(0, 1) if self.batch_first else input  # (T, B, I)
        states = self.num_layers * (2 if self.bidirectional else 1)
        zeros = x.new_zeros(states, x.shape[1], self.hidden_size)
        h0 = zeros if h0 is None else h0
        c0 = zeros if c0 is None else c0
        if h0.shape != zeros.shape:
            raise ValueError(f"expected hidden state of shape {tuple(zeros.shape)}, got {tuple(h0.shape)}")
        out, h_n, c_n = self._run(x, h0, c0)
        if unbatched:
            return out.squeeze(1), h_n.squeeze(1), c_n.squeeze(1)
        return (out.transpose(0, 1) if self.batch_first else out), h_n, c_n

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, batch_first={self.batch_first}, "
            f"dropout={self.dropout}, bidirectional={self.bidirectional}"
        )


class RNN(_RNNBase):
    """Multi-layer Elman RNN; forward(input, hx=None) -> (output, h_n), as torch.nn.RNN.

    input (T, B, I) (batch_first: (B, T, I)), hx (L*D, B, H) -> output (T, B, D*H), h_n (L*D, B, H).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        self.nonlinearity = nonlinearity
        super().__init__(
            _rnn_mode(nonlinearity), input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional
        )

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out, h_n, _ = self._forward(input, hx, None)
        return out, h_n


class LSTM(_RNNBase):
    """Multi-layer LSTM; forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n)), as torch.nn.LSTM."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        out, h_n, c_n = self._forward(input, None if hx is None else hx[0], None if hx is None else hx[1])
        return out, (h_n, c_n)


class GRU(_RNNBase):
    """Multi-layer GRU; forward(input, hx=None) -> (output, h_n), as torch.nn.GRU."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out, h_n, _ = self._forward(input, hx, None)
        return out, h_n


# ----------------------------------------------------------------------------------------------
# Training utilities: gradient-norm clipping and truncated backpropagation through time
# ----------------------------------------------------------------------------------------------


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0) -> Tensor:
    """Rescales gradients in place so their global norm is at most max_norm (Pascanu et al. 2013).

    ||g|| = (sum_p ||g_p||_q^q)^(1/q) over all parameters (q = inf: max |g|);
    g <- g * min(1, max_norm / (||g|| + 1e-6)). Returns ||g|| before clipping, as torch does.
    """
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    if math.isinf(norm_type):
        total = torch.stack([g.detach().abs().max() for g in grads]).max()
    else:
        total = torch.stack([g.detach().abs().pow(norm_type).sum() for g in grads]).sum().pow(1.0 / norm_type)
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coef.to(g.dtype))
    return total


State = Tensor | tuple[Tensor, ...]


def detach_state(state: State) -> State:
    """Cuts the graph behind a recurrent state (a tensor, or a tuple such as the LSTM's (h, c))."""
    return state.detach() if isinstance(state, Tensor) else tuple(s.detach() for s in state)


def train_tbptt(
    step: Callable[[Tensor, Tensor, State | None], tuple[Tensor, State]],
    inputs: Tensor,
    targets: Tensor,
    optimizer: torch.optim.Optimizer | None,
    k: int,
    state: State | None = None,
    max_grad_norm: float | None = None,
) -> tuple[list[float], State | None]:
    """Truncated backpropagation through time (Williams & Peng 1990) over time-major sequences.

    Splits inputs/targets (T, ...) into chunks of k steps; for each chunk, ``step(x, y, state)``
    returns (loss, new_state); the loss is backpropagated through that chunk only (the state is
    carried forward, its graph cut), gradients are clipped to ``max_grad_norm`` and the optimizer
    steps. With ``optimizer=None`` the gradients just accumulate (to inspect them). Returns the
    per-chunk losses and the last (detached) state.
    """
    params = [p for group in optimizer.param_groups for p in group["params"]] if optimizer else []
    losses = []
    for x, y in zip(inputs.split(k), targets.split(k), strict=True):
        if optimizer is not None:
            optimizer.zero_grad()
        loss, state = step(x, y, state)
        loss.backward()
        if optimizer is not None:
            if max_grad_norm is not None:
                clip_grad_norm_(params, max_grad_norm)
            optimizer.step()
        state = detach_state(state)
        losses.append(float(loss.detach()))
    return losses, state

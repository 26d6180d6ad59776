"""RNN/LSTM/GRU cells and runners against torch.nn: outputs, final states and every gradient.

Also: the vanishing gradient of a tanh RNN next to an LSTM's, gradient clipping, truncated BPTT,
and a sequence model built on the reference LSTM that learns a task with archzoo.optim.Adam.
"""

from __future__ import annotations

import time
import warnings

import pytest
import torch
from torch import nn

import archzoo.nn as ann
from archzoo.nn import recurrent
from archzoo.optim import Adam

DTYPES = [torch.float64, torch.float32]


def _tol(dtype: torch.dtype) -> dict[str, float]:
    return {"atol": 1e-10, "rtol": 1e-10} if dtype == torch.float64 else {"atol": 1e-5, "rtol": 1e-5}


def _twins(ours: nn.Module, theirs: nn.Module, dtype: torch.dtype) -> tuple[nn.Module, nn.Module]:
    assert list(ours.state_dict()) == list(theirs.state_dict())  # same names, in the same order
    theirs.load_state_dict(ours.state_dict())
    return ours.to(dtype), theirs.to(dtype)


def _flat(out) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for o in out for t in _flat(o)]


def _check(ours: nn.Module, theirs: nn.Module, inputs: list[torch.Tensor], call, dtype: torch.dtype) -> None:
    """Same outputs, and same gradients w.r.t. inputs and every parameter, for a random cotangent."""
    a = [x.detach().clone().requires_grad_() for x in inputs]
    b = [x.detach().clone().requires_grad_() for x in inputs]
    ya, yb = _flat(call(ours, a)), _flat(call(theirs, b))
    for u, v in zip(ya, yb, strict=True):
        torch.testing.assert_close(u, v, **_tol(dtype))
    cots = [torch.randn_like(v) for v in yb]
    pa, pb = list(ours.parameters()), list(theirs.parameters())
    ga = torch.autograd.grad(ya, a + pa, cots, allow_unused=True)
    gb = torch.autograd.grad(yb, b + pb, cots, allow_unused=True)
    for u, v in zip(ga, gb, strict=True):
        torch.testing.assert_close(u, v, **_tol(dtype))


# ----- cells -------------------------------------------------------------------------------------


CELLS = [
    ("rnn_tanh", lambda b: ann.RNNCell(5, 7, bias=b), lambda b: nn.RNNCell(5, 7, bias=b)),
    ("rnn_relu", lambda b: ann.RNNCell(5, 7, b, "relu"), lambda b: nn.RNNCell(5, 7, b, "relu")),
    ("lstm", lambda b: ann.LSTMCell(5, 7, bias=b), lambda b: nn.LSTMCell(5, 7, bias=b)),
    ("gru", lambda b: ann.GRUCell(5, 7, bias=b), lambda b: nn.GRUCell(5, 7, bias=b)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(("name", "make_ours", "make_theirs"), CELLS, ids=[c[0] for c in CELLS])
def test_cell_matches_torch(name, make_ours, make_theirs, bias, dtype) -> None:
    torch.manual_seed(0)
    ours, theirs = _twins(make_ours(bias), make_theirs(bias), dtype)
    x, h, c = (torch.randn(3, n, dtype=dtype) for n in (5, 7, 7))
    if name == "lstm":
        _check(ours, theirs, [x, h, c], lambda m, t: m(t[0], (t[1], t[2])), dtype)
        _check(ours, theirs, [x[0], h[0], c[0]], lambda m, t: m(t[0], (t[1], t[2])), dtype)  # unbatched
    else:
        _check(ours, theirs, [x, h], lambda m, t: m(t[0], t[1]), dtype)
        _check(ours, theirs, [x[0], h[0]], lambda m, t: m(t[0], t[1]), dtype)  # unbatched
    _check(ours, theirs, [x], lambda m, t: m(t[0]), dtype)  # zero initial state


def test_lstm_cell_is_the_gate_equations() -> None:
    """The cell against the equations spelled out one gate at a time, from its own weights."""
    torch.manual_seed(0)
    cell = ann.LSTMCell(3, 4).double()
    x, h, c = (
        torch.randn(2, 3, dtype=torch.float64),
        torch.randn(2, 4, dtype=torch.float64),
        torch.randn(2, 4, dtype=torch.float64),
    )
    W_i, W_f, W_g, W_o = cell.weight_ih.chunk(4)
    U_i, U_f, U_g, U_o = cell.weight_hh.chunk(4)
    b = (cell.bias_ih + cell.bias_hh).chunk(4)
    i_t = torch.sigmoid(x @ W_i.T + h @ U_i.T + b[0])
    f_t = torch.sigmoid(x @ W_f.T + h @ U_f.T + b[1])
    C_tilde = torch.tanh(x @ W_g.T + h @ U_g.T + b[2])
    o_t = torch.sigmoid(x @ W_o.T + h @ U_o.T + b[3])
    C_t = f_t * c + i_t * C_tilde
    h_t = o_t * torch.tanh(C_t)
    h_ours, c_ours = cell(x, (h, c))
    torch.testing.assert_close(c_ours, C_t, atol=1e-12, rtol=0)
    torch.testing.assert_close(h_ours, h_t, atol=1e-12, rtol=0)


def test_gru_reset_gate_acts_inside_the_candidate() -> None:
    """h~ = tanh(W_in x + b_in + r * (W_hn h + b_hn)): with r -> 0 the candidate forgets h entirely,
    but the input still enters (a loose write-up, tanh(W[h, x] * r), would gate the input too)."""
    torch.manual_seed(0)
    cell = ann.GRUCell(3, 4).double()
    with torch.no_grad():
        cell.bias_ih[:4] = -1e3  # reset gate r = sigma(-1000) = 0
        cell.bias_ih[4:8] = -1e3  # update gate z = 0: h' = h~
    x, h = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    W_n, b_in = cell.weight_ih[8:], cell.bias_ih[8:]
    torch.testing.assert_close(cell(x, h), torch.tanh(x @ W_n.T + b_in), atol=1e-12, rtol=0)
    assert not torch.allclose(cell(x, h), torch.zeros(2, 4, dtype=torch.float64))


# ----- runners -----------------------------------------------------------------------------------


RUNNERS = [
    ("rnn", ann.RNN, nn.RNN, {}),
    ("rnn_relu", ann.RNN, nn.RNN, {"nonlinearity": "relu"}),
    ("lstm", ann.LSTM, nn.LSTM, {}),
    ("gru", ann.GRU, nn.GRU, {}),
]
LAYOUTS = [
    {"num_layers": 1},
    {"num_layers": 2, "bidirectional": True},
    {"num_layers": 3, "batch_first": True, "bias": False},
    {"num_layers": 2, "bidirectional": True, "batch_first": True, "dropout": 0.5},  # compared in eval
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda d: "-".join(f"{k}={v}" for k, v in d.items()))
@pytest.mark.parametrize(("name", "cls", "tcls", "extra"), RUNNERS, ids=[r[0] for r in RUNNERS])
def test_runner_matches_torch(name, cls, tcls, extra, layout, dtype) -> None:
    torch.manual_seed(0)
    ours, theirs = _twins(cls(4, 6, **layout, **extra), tcls(4, 6, **layout, **extra), dtype)
    if layout.get("dropout"):
        ours.eval()
        theirs.eval()
    D = 2 if layout.get("bidirectional") else 1
    T, B = 9, 3
    x = torch.randn((B, T, 4) if layout.get("batch_first") else (T, B, 4), dtype=dtype)
    h0 = torch.randn(layout["num_layers"] * D, B, 6, dtype=dtype)
    c0 = torch.randn_like(h0)
    if name == "lstm":
        _check(ours, theirs, [x, h0, c0], lambda m, t: m(t[0], (t[1], t[2])), dtype)
    else:
        _check(ours, theirs, [x, h0], lambda m, t: m(t[0], t[1]), dtype)
    _check(ours, theirs, [x], lambda m, t: m(t[0]), dtype)
    x_unbatched = torch.randn(T, 4, dtype=dtype)  # (T, I): no batch dim, whatever batch_first says
    _check(ours, theirs, [x_unbatched], lambda m, t: m(t[0]), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_with_hand_written_bptt_matches_torch(dtype) -> None:
    torch.manual_seed(0)
    ours, theirs = _twins(ann.LSTM(4, 6, num_layers=2, bidirectional=True), nn.LSTM(4, 6, 2, bidirectional=True), dtype)
    ours.recurrence = recurrent.lstm_recurrence_bptt
    x, h0, c0 = torch.randn(9, 3, 4, dtype=dtype), torch.randn(4, 3, 6, dtype=dtype), torch.randn(4, 3, 6, dtype=dtype)
    _check(ours, theirs, [x, h0, c0], lambda m, t: m(t[0], (t[1], t[2])), dtype)


def test_dropout_acts_between_layers_only_in_training() -> None:
    torch.manual_seed(0)
    one = ann.LSTM(4, 6, num_layers=1, dropout=0.9).double()
    x = torch.randn(5, 2, 4, dtype=torch.float64)
    torch.testing.assert_close(one(x)[0], one.eval()(x)[0])  # one layer: nothing between layers
    two = ann.GRU(4, 6, num_layers=2, dropout=0.5).double()
    a, b = two(x)[0], two(x)[0]
    assert not torch.allclose(a, b)  # a fresh mask each call in training
    two.eval()
    torch.testing.assert_close(two(x)[0], two(x)[0])


def test_runner_names_a_wrong_input() -> None:
    with pytest.raises(ValueError, match=r"expects \(T, B, 4\)"):
        ann.LSTM(4, 6)(torch.randn(3, 2, 5))
    with pytest.raises(ValueError, match="hidden state of shape"):
        ann.GRU(4, 6)(torch.randn(3, 2, 4), torch.randn(2, 2, 6))
    with pytest.raises(ValueError, match="tanh, relu"):
        ann.RNN(4, 6, nonlinearity="sigmoid")


def test_scripted_recurrence_matches_the_plain_one() -> None:
    torch.manual_seed(0)
    lstm = ann.LSTM(4, 6, num_layers=2).double()
    x = torch.randn(7, 3, 4, dtype=torch.float64)
    plain = lstm(x)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script is deprecated, still works
        lstm.recurrence = torch.jit.script(recurrent.lstm_recurrence)
    torch.testing.assert_close(lstm(x)[0], plain, atol=1e-12, rtol=0)


# ----- vanishing gradients, clipping, truncated BPTT ---------------------------------------------------


def _early_to_late_gradient_ratio(model: nn.Module, x: torch.Tensor) -> float:
    """||d sum(h_T) / d x_1|| / ||d sum(h_T) / d x_T||: how much of the signal survives T steps back."""
    x = x.clone().requires_grad_()
    out, _ = model(x)
    (g,) = torch.autograd.grad(out[-1].sum(), x)
    norms = g.norm(dim=(1, 2))  # (T,)
    return (norms[0] / norms[-1]).item()


def test_vanishing_gradient_tanh_rnn_versus_lstm() -> None:
    """Over 100 steps the tanh RNN's gradient to the first input shrinks by ~1e-23; the LSTM's
    additive cell path C_t = f_t C_{t-1} + ... keeps orders of magnitude more, far more once the
    forget gate starts open (forget bias 1, Gers et al. 2000; Jozefowicz et al. 2015)."""
    torch.manual_seed(0)
    T, B, I, H = 100, 8, 4, 32
    x = torch.randn(T, B, I, dtype=torch.float64)
    rnn, lstm = ann.RNN(I, H).double(), ann.LSTM(I, H).double()
    r_rnn, r_lstm = _early_to_late_gradient_ratio(rnn, x), _early_to_late_gradient_ratio(lstm, x)
    assert r_rnn < 1e-15
    assert r_lstm > 1e3 * r_rnn  # default init: both vanish, the RNN by orders of magnitude more
    with torch.no_grad():
        lstm.bias_ih_l0[H : 2 * H] = 1.0  # forget gate bias
        lstm.bias_hh_l0[H : 2 * H] = 0.0
    r_lstm_open = _early_to_late_gradient_ratio(lstm, x)
    assert r_lstm_open > 1e-9 and r_lstm_open > 1e12 * r_rnn


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.1, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm) -> None:
    torch.manual_seed(0)
    ps = [torch.randn(5, 3, requires_grad=True, dtype=torch.float64) for _ in range(3)]
    qs = [p.detach().clone().requires_grad_() for p in ps]
    for p, q in zip(ps, qs, strict=True):
        p.grad = torch.randn_like(p)
        q.grad = p.grad.clone()
    total = ann.clip_grad_norm_(ps, max_norm, norm_type)
    total_torch = nn.utils.clip_grad_norm_(qs, max_norm, norm_type)
    torch.testing.assert_close(total, total_torch)
    for p, q in zip(ps, qs, strict=True):
        torch.testing.assert_close(p.grad, q.grad)


def test_truncated_bptt_cuts_the_graph_between_chunks() -> None:
    torch.manual_seed(0)
    rnn = ann.GRU(3, 5).double()
    x, y = torch.randn(12, 2, 3, dtype=torch.float64), torch.randn(12, 2, 5, dtype=torch.float64)

    def step(xc, yc, state):
        out, h = rnn(xc, state)
        return ((out - yc) ** 2).mean(), h

    def grads():
        g = [p.grad.clone() for p in rnn.parameters()]
        rnn.zero_grad()
        return g

    ann.train_tbptt(step, x, y, None, k=12)  # one chunk: full backpropagation through time
    full = grads()
    loss, _ = step(x, y, None)
    loss.backward()
    for a, b in zip(full, grads(), strict=True):
        torch.testing.assert_close(a, b)

    losses, state = ann.train_tbptt(step, x, y, None, k=4)  # three chunks, state carried, graph cut
    truncated = grads()
    assert len(losses) == 3 and not state.requires_grad
    h = None
    for i in range(3):  # the same by hand: each chunk starts from the detached state
        loss, h = step(x[4 * i : 4 * i + 4], y[4 * i : 4 * i + 4], h)
        loss.backward()
        h = h.detach()
    for a, b in zip(truncated, grads(), strict=True):
        torch.testing.assert_close(a, b)
    assert any(not torch.allclose(a, b) for a, b in zip(full, truncated, strict=True))


# ----- a model built on the reference cells ---------------------------------------------------------


class AddingModel(nn.Module):
    """The reference LSTM and a linear head: reads (value, marker) pairs, predicts the marked sum."""

    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.lstm = ann.LSTM(2, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)  # (B, T, H)
        return self.head(out[:, -1]).squeeze(1)  # (B,)


def _adding_batch(B: int, T: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The adding problem (Hochreiter & Schmidhuber 1997): the sum of the two marked values."""
    values = torch.rand(B, T, generator=g)
    marks = torch.zeros(B, T)
    first = torch.randint(0, T // 2, (B,), generator=g)
    second = torch.randint(T // 2, T, (B,), generator=g)
    marks[torch.arange(B), first] = 1.0
    marks[torch.arange(B), second] = 1.0
    return torch.stack([values, marks], dim=2), (values * marks).sum(dim=1)  # (B, T, 2), (B,)


@pytest.mark.slow
def test_a_sequence_model_on_the_reference_lstm_learns_with_reference_adam() -> None:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    model = AddingModel()
    opt = Adam(model.parameters(), lr=1e-2)
    x_val, y_val = _adding_batch(256, 20, g)
    with torch.no_grad():
        start = nn.functional.mse_loss(model(x_val), y_val).item()
    began = time.perf_counter()
    for _ in range(300):
        x, y = _adding_batch(64, 20, g)
        loss = nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        end = nn.functional.mse_loss(model(x_val), y_val).item()
    # predicting the mean sum (1.0) gives MSE 1/6; learning to add the marked values gives far less
    assert end < 0.1 * start and end < 0.02, (start, end, time.perf_counter() - began)

"""Forecasters: the output contract for every kind x decoder x likelihood, the input and config errors, the
residual skip, autoregressive feedback, pinned parameter counts, and fitting a sine wave."""

from __future__ import annotations

import math

import pytest
import torch

import archzoo
from archzoo.models.forecasters import KINDS, Forecaster, ForecasterConfig, num_outputs, point_forecast

NAMES = ["rnn_forecaster", "lstm_forecaster", "gru_forecaster", "mlp_forecaster", "transformer_forecaster"]
# (kind, structure): the Transformer both ways
BODIES = [("rnn", "encoder"), ("lstm", "encoder"), ("gru", "encoder"), ("mlp", "encoder"),
          ("transformer", "encoder"), ("transformer", "encoder_decoder")]
QUANTILES = (0.9, 0.1, 0.5, 0.25)  # deliberately unsorted


def tiny(kind: str, structure: str = "encoder", **kw) -> Forecaster:
    base = dict(kind=kind, structure=structure, in_features=2, out_features=2, window=6, horizon=3, hidden=8,
                layers=1, heads=2, quantiles=QUANTILES)
    return Forecaster(ForecasterConfig(**{**base, **kw}))


def randomise_head(model: Forecaster, std: float = 3.0) -> None:
    with torch.no_grad():
        model.head.weight.normal_(0, std)
        model.head.bias.normal_(0, std)


def test_registered_cards() -> None:
    assert archzoo.list_models(task="forecasting") == sorted(NAMES)
    for name in NAMES:
        card = archzoo.model_card(name)
        assert card.family == "forecaster" and card.inputs == "real"
        assert card.input_size == card.min_input_size == (24, 1)


def test_parameter_counts_are_pinned() -> None:
    counts = {name: archzoo.model_card(name).num_params for name in NAMES}
    assert counts == {"rnn_forecaster": 13_388, "lstm_forecaster": 51_212, "gru_forecaster": 38_604,
                      "mlp_forecaster": 21_260, "transformer_forecaster": 67_980}
    # LSTM: 4 gates x (W_ih, W_hh, b_ih, b_hh) per layer, then a 64 -> 12 head
    assert counts["lstm_forecaster"] == 4 * 64 * (1 + 64 + 2) + 4 * 64 * (64 + 64 + 2) + 64 * 12 + 12


@pytest.mark.parametrize("likelihood", ["point", "gaussian", "quantile"])
@pytest.mark.parametrize("decoder", ["direct", "autoregressive"])
@pytest.mark.parametrize(("kind", "structure"), BODIES)
def test_output_shape(kind: str, structure: str, decoder: str, likelihood: str) -> None:
    torch.manual_seed(0)
    model = tiny(kind, structure, decoder=decoder, likelihood=likelihood)
    randomise_head(model)
    out = model(torch.randn(5, 6, 2))
    k = {"point": 1, "gaussian": 2, "quantile": len(QUANTILES)}[likelihood]
    assert out.shape == (5, 3, 2, k) and num_outputs(likelihood, QUANTILES) == k
    assert torch.isfinite(out).all()
    if likelihood == "gaussian":
        assert (out[..., 1] > 0).all()
    if likelihood == "quantile":  # never crossing: in ascending order of level the values ascend
        ascending = out[..., sorted(range(k), key=QUANTILES.__getitem__)]
        assert (ascending.diff(dim=-1) >= 0).all()
    assert point_forecast(out, likelihood, QUANTILES).shape == (5, 3, 2)


@pytest.mark.parametrize(("kind", "structure"), BODIES)
def test_direct_and_autoregressive_agree_in_shape_and_covariates(kind: str, structure: str) -> None:
    x = torch.randn(4, 6, 3)
    direct = tiny(kind, structure, in_features=3, out_features=1)
    assert direct(x).shape == (4, 3, 1, 1)
    assert tiny(kind, structure, decoder="autoregressive", in_features=3, out_features=3)(x).shape == (4, 3, 3, 1)


def test_autoregressive_with_covariates_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"in_features == out_features.*covariates.*decoder='direct'"):
        archzoo.create_model("lstm_forecaster", in_features=3, out_features=1, decoder="autoregressive")
    with pytest.raises(ValueError, match="must not exceed in_features"):
        ForecasterConfig(in_features=1, out_features=2)


def test_config_errors_list_the_valid_keys() -> None:
    with pytest.raises(ValueError, match="unknown kind 'tcn'; choose one of: rnn, lstm, gru, mlp, transformer"):
        ForecasterConfig(kind="tcn")
    with pytest.raises(ValueError, match="choose one of: point, gaussian, quantile"):
        ForecasterConfig(likelihood="poisson")
    with pytest.raises(ValueError, match="choose one of: direct, autoregressive"):
        ForecasterConfig(decoder="seq2seq")
    with pytest.raises(ValueError, match="quantiles must be distinct levels in"):
        ForecasterConfig(quantiles=(0.1, 1.0))
    with pytest.raises(ValueError, match="divisible by heads"):
        ForecasterConfig(kind="transformer", hidden=10, heads=4)
    assert ForecasterConfig(quantiles=[0.2, 0.8]).quantiles == (0.2, 0.8)  # a list from --set becomes a tuple


@pytest.mark.parametrize("name", NAMES)
def test_wrong_input_shape_says_what_was_expected(name: str) -> None:
    model = archzoo.create_model(name)
    expected = "window=24, in_features=1" if name.startswith(("mlp", "transformer")) else "T >= 1, in_features=1"
    for bad in (torch.randn(2, 24), torch.randn(2, 24, 2), torch.randn(2, 24, 1).long()):
        with pytest.raises(ValueError, match=rf"expects a float tensor \(B, {expected}\), got"):
            model(bad)
    if name.startswith(("mlp", "transformer")):
        with pytest.raises(ValueError, match=r"\(B, window=24, in_features=1\), got \(2, 23, 1\)"):
            model(torch.randn(2, 23, 1))
    else:  # the recurrent models read any window
        assert model(torch.randn(2, 7, 1)).shape == (2, 12, 1, 1)


@pytest.mark.parametrize("likelihood", ["point", "gaussian", "quantile"])
@pytest.mark.parametrize("decoder", ["direct", "autoregressive"])
@pytest.mark.parametrize(("kind", "structure"), BODIES)
def test_residual_with_a_zero_head_forecasts_the_last_value(kind: str, structure: str, decoder: str,
                                                            likelihood: str) -> None:
    torch.manual_seed(0)
    model = tiny(kind, structure, decoder=decoder, likelihood=likelihood)
    x = torch.randn(3, 6, 2)
    # the head starts at zero: an untrained model is the naive forecast
    expected = x[:, -1:, :].expand(3, 3, 2)
    torch.testing.assert_close(point_forecast(model(x), likelihood, QUANTILES), expected)
    no_skip = tiny(kind, structure, decoder=decoder, likelihood=likelihood, residual=False)
    assert point_forecast(no_skip(x), likelihood, QUANTILES).abs().max() == 0


@pytest.mark.parametrize(("kind", "structure"), BODIES)
def test_autoregressive_feeds_each_forecast_back(kind: str, structure: str) -> None:
    """Step 2 of a 3-step forecast is step 1 of the same weights given the window moved on by step 1's forecast
    (the recurrent models: the window grown by it)."""
    torch.manual_seed(0)
    model = tiny(kind, structure, decoder="autoregressive", likelihood="quantile").eval()
    randomise_head(model, std=0.3)
    one_step = tiny(kind, structure, decoder="autoregressive", likelihood="quantile", horizon=1).eval()
    one_step.load_state_dict(model.state_dict())
    x = torch.randn(2, 6, 2)
    with torch.no_grad():
        out = model(x)
        fed = torch.cat([x, point_forecast(out[:, :1], "quantile", QUANTILES)], dim=1)  # (B, 7, C)
        if kind in ("mlp", "transformer"):
            fed = fed[:, 1:]  # (B, 6, C): the window slides
        torch.testing.assert_close(one_step(fed)[:, 0], out[:, 1])


def test_point_forecast_picks_the_value_mean_or_median() -> None:
    out = torch.arange(24.0).view(1, 2, 3, 4)
    torch.testing.assert_close(point_forecast(out, "quantile", QUANTILES), out[..., 2])
    torch.testing.assert_close(point_forecast(out[..., :2], "gaussian", ()), out[..., 0])
    with pytest.raises(ValueError, match=r"a gaussian forecast has 2 value\(s\) in its last dimension"):
        point_forecast(out, "gaussian", ())
    with pytest.raises(ValueError, match="unknown likelihood 'poisson'; choose one of: point, gaussian, quantile"):
        point_forecast(out, "poisson", ())


def _sine_windows(window: int, horizon: int) -> tuple[torch.Tensor, torch.Tensor]:
    t = torch.arange(240, dtype=torch.float32)
    series = torch.sin(2 * math.pi * t / 16) + 0.5 * torch.sin(2 * math.pi * t / 40)
    series = (series - series.mean()) / series.std()  # as the task scales it
    starts = range(len(series) - window - horizon + 1)
    x = torch.stack([series[s:s + window] for s in starts]).unsqueeze(-1)  # (N, W, 1)
    y = torch.stack([series[s + window:s + window + horizon] for s in starts]).unsqueeze(-1)  # (N, H, 1)
    return x, y


@pytest.mark.parametrize(("kind", "structure", "decoder", "lr", "steps"), [
    ("rnn", "encoder", "direct", 1e-2, 300), ("lstm", "encoder", "direct", 1e-2, 150),
    ("gru", "encoder", "autoregressive", 1e-2, 150), ("mlp", "encoder", "direct", 3e-3, 150),
    ("transformer", "encoder", "direct", 1e-2, 60), ("transformer", "encoder_decoder", "direct", 5e-3, 60)])
def test_fits_a_sine_wave(kind: str, structure: str, decoder: str, lr: float, steps: int) -> None:
    torch.manual_seed(0)
    x, y = _sine_windows(window=24, horizon=8)
    x, y = x[::2], y[::2]  # every other window: every phase of the faster wave is still there
    model = Forecaster(ForecasterConfig(kind=kind, structure=structure, decoder=decoder, horizon=8, hidden=32,
                                        layers=1))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        loss = torch.nn.functional.mse_loss(model(x)[..., 0], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        mse = torch.nn.functional.mse_loss(model(x)[..., 0], y).item()
    assert mse < 0.05 * y.var().item(), f"{kind}: MSE {mse:.4f} vs variance {y.var().item():.3f}"


def test_every_kind_is_registered() -> None:
    assert {archzoo.model_card(n).config.kind for n in NAMES} == set(KINDS)

"""Series autoencoder: shapes for both decoders and both kinds, the code bottleneck, input and config errors,
the reverse decoder's order, the pinned parameter count, and training on a noisy sine until an injected spike
stands out in the reconstruction error."""

from __future__ import annotations

import math

import pytest
import torch

import archzoo
from archzoo.models.series_autoencoder import (
    DECODERS,
    KINDS,
    SeriesAutoencoder,
    SeriesAutoencoderConfig,
    reconstruction_error,
)

WINDOW = 32
PERIOD = 16


def tiny(**kw) -> SeriesAutoencoder:
    base = dict(in_features=3, window=7, hidden=8, code=4)
    return SeriesAutoencoder(SeriesAutoencoderConfig(**{**base, **kw}))


def noisy_sine(n: int, generator: torch.Generator) -> torch.Tensor:
    """n windows (n, WINDOW, 1) of a unit sine of period PERIOD at random phases, plus noise of std 0.1."""
    t = torch.arange(WINDOW, dtype=torch.float32)
    phase = 2 * math.pi * torch.rand(n, 1, generator=generator)
    return (torch.sin(2 * math.pi * t / PERIOD + phase) + 0.1 * torch.randn(n, WINDOW, generator=generator))[..., None]


def test_registered_card() -> None:
    assert archzoo.list_models(task="anomaly", family="series_autoencoder") == ["lstm_autoencoder"]
    card = archzoo.model_card("lstm_autoencoder")
    assert card.inputs == "real" and card.year == 2016 and "1607.00148" in card.url
    assert card.input_size == card.min_input_size == (WINDOW, 1)


def test_parameter_count_is_pinned() -> None:
    h, c = 32, 8

    def lstm(fan_in: int) -> int:  # 4 gates x (W_ih, W_hh, b_ih, b_hh)
        return 4 * h * (fan_in + h + 2)

    expected = lstm(1) + (h * c + c) + (c * 2 * h + 2 * h) + lstm(c) + (h + 1)
    assert archzoo.model_card("lstm_autoencoder").num_params == expected == 10_729
    reverse = archzoo.create_model("lstm_autoencoder", decoder="reverse")  # the decoder reads 1 value, not 8
    assert archzoo.count_params(reverse) == expected - lstm(c) + lstm(1) == 9_833


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("kind", KINDS)
def test_shapes(kind: str, decoder: str, layers: int) -> None:
    torch.manual_seed(0)
    model = tiny(kind=kind, decoder=decoder, layers=layers, dropout=0.1)
    x = torch.randn(5, 7, 3)
    out = model(x)
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert model.encode(x).shape == (5, 4)
    assert model.decode(torch.randn(2, 4)).shape == (2, 7, 3)
    assert reconstruction_error(model, x).shape == (5, 7)


def test_reconstruction_error_is_the_mean_squared_error_per_step() -> None:
    model = tiny().eval()
    x = torch.randn(4, 7, 3)
    with torch.no_grad():
        expected = ((model(x) - x) ** 2).sum(-1) / 3
        torch.testing.assert_close(reconstruction_error(model, x), expected)


def test_the_code_is_the_only_path_from_input_to_output() -> None:
    model = tiny().eval()
    x = torch.randn(3, 7, 3)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model.decode(model.encode(x)))
        # two windows with the same code have the same reconstruction
        z = model.encode(x[:1])
        torch.testing.assert_close(model.decode(z.expand(2, -1)), model(x[:1]).expand(2, -1, -1))


def test_reverse_decoder_reconstructs_the_last_step_first() -> None:
    """The last step comes from the decoder's initial state alone; the first needs every decoder step."""
    torch.manual_seed(0)
    model = tiny(decoder="reverse").eval()
    x = torch.randn(2, 7, 3)
    with torch.no_grad():
        before = model(x)
        for p in model.decoder.parameters():
            p.add_(0.5)
        after = model(x)
    torch.testing.assert_close(after[:, -1], before[:, -1])
    assert not torch.allclose(after[:, 0], before[:, 0])


@pytest.mark.parametrize("shape", [(7, 3), (2, 7, 3, 1), (2, 6, 3), (2, 8, 3), (2, 7, 2)])
def test_wrong_input_is_a_clear_error(shape: tuple[int, ...]) -> None:
    model = tiny()
    with pytest.raises(ValueError, match=r"expects a float tensor \(B, window=7, in_features=3\)"):
        model(torch.randn(shape))
    with pytest.raises(ValueError, match=r"\(B, window=7, in_features=3\)"):
        model.encode(torch.randn(shape))


def test_integer_input_and_wrong_code_are_clear_errors() -> None:
    model = tiny()
    with pytest.raises(ValueError, match="float tensor"):
        model(torch.zeros(2, 7, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"code \(B, code=4\)"):
        model.decode(torch.randn(2, 5))


def test_bad_config_lists_the_valid_choices() -> None:
    with pytest.raises(ValueError, match="unknown kind 'rnn'; choose one of: lstm, gru"):
        SeriesAutoencoderConfig(kind="rnn")
    with pytest.raises(ValueError, match="unknown decoder 'forward'; choose one of: repeat, reverse"):
        SeriesAutoencoderConfig(decoder="forward")
    with pytest.raises(ValueError, match="code must be positive"):
        archzoo.create_model("lstm_autoencoder", code=0)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        SeriesAutoencoderConfig(dropout=1.0)


def test_training_reconstructs_a_sine_and_a_spike_stands_out() -> None:
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model = archzoo.create_model("lstm_autoencoder")
    test = noisy_sine(128, gen)
    variance = test.var().item()
    with torch.no_grad():
        untrained = reconstruction_error(model, test).mean().item()
    assert untrained > 0.5 * variance
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(250):
        loss = reconstruction_error(model, noisy_sine(64, gen)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        trained = reconstruction_error(model, test).mean().item()
        assert trained < 0.1 * variance, (untrained, trained, variance)
        spiky = test[:8].clone()
        spiky[:, 20, 0] += 3.0
        err = reconstruction_error(model, spiky)  # (8, WINDOW)
    others = torch.cat([err[:, :20], err[:, 21:]], dim=1)
    assert (err.argmax(dim=1) == 20).all()
    assert (err[:, 20] > 10 * others.max(dim=1).values).all(), (err[:, 20], others.max(dim=1).values)

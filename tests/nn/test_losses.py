"""Losses against torch.nn.functional and torch.distributions: values and gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as TF
from torch.distributions import Normal, kl_divergence

from archzoo.nn import functional as F

DTYPES = [torch.float64, torch.float32]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.4])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_torch(smoothing, reduction, dtype, same, tol) -> None:
    torch.manual_seed(0)
    logits = torch.randn(6, 5, dtype=dtype) * 5
    logits[0, 0] = 200.0  # a confident logit: the log-sum-exp shift keeps it finite
    target = torch.tensor([0, 3, -100, 4, 1, -100])  # with ignored positions
    kw = dict(ignore_index=-100, reduction=reduction, label_smoothing=smoothing)
    same(lambda z: F.cross_entropy(z, target, **kw), lambda z: TF.cross_entropy(z, target, **kw), logits, **tol(dtype))


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_over_sequences_and_custom_ignore_index(smoothing, same) -> None:
    torch.manual_seed(0)
    logits = torch.randn(3, 7, 4, dtype=torch.float64)  # (N, C, T): a language model's layout
    target = torch.randint(0, 7, (3, 4))
    target[1, 2] = 0
    kw = dict(ignore_index=0, label_smoothing=smoothing)
    same(lambda z: F.cross_entropy(z, target, **kw), lambda z: TF.cross_entropy(z, target, **kw), logits, atol=1e-12)
    same(
        lambda z: F.cross_entropy(z, target[0, 0]),
        lambda z: TF.cross_entropy(z, target[0, 0]),
        logits[0, :, 0],
        atol=1e-12,
    )  # one unbatched sample


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_matches_torch_and_is_stable(reduction, dtype, same, tol) -> None:
    torch.manual_seed(0)
    z = torch.randn(4, 6, dtype=dtype) * 3
    z[0, :4] = torch.tensor([0.0, 100.0, -100.0, 800.0], dtype=dtype)  # z = 0 and saturated logits
    y = torch.rand(4, 6, dtype=dtype)
    pw = torch.rand(6, dtype=dtype) * 3
    same(
        lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction),
        lambda z, y: TF.binary_cross_entropy_with_logits(z, y, reduction=reduction),
        z,
        y,
        **tol(dtype),
    )
    same(
        lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction, pos_weight=pw),
        lambda z, y: TF.binary_cross_entropy_with_logits(z, y, reduction=reduction, pos_weight=pw),
        z,
        y,
        **tol(dtype),
    )  # torch does not differentiate w.r.t. pos_weight
    assert torch.isfinite(F.binary_cross_entropy_with_logits(z, y, reduction)).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(5,), (3, 4, 2), (0, 3)])
def test_regression_losses_match_torch(shape, reduction, dtype, same, tol) -> None:
    torch.manual_seed(0)
    x, y = torch.randn(shape, dtype=dtype) * 2, torch.randn(shape, dtype=dtype) * 2
    if reduction == "mean" and x.numel() == 0:
        return  # torch's mean of nothing is NaN, ours too; compared below with equal_nan
    same(
        lambda x, y: F.mse_loss(x, y, reduction),
        lambda x, y: TF.mse_loss(x, y, reduction=reduction),
        x,
        y,
        **tol(dtype),
    )
    same(
        lambda x, y: F.l1_loss(x, y, reduction), lambda x, y: TF.l1_loss(x, y, reduction=reduction), x, y, **tol(dtype)
    )
    for delta in (1.0, 0.5, 2.5):
        same(
            lambda x, y, d=delta: F.huber_loss(x, y, reduction, d),
            lambda x, y, d=delta: TF.huber_loss(x, y, reduction=reduction, delta=d),
            x,
            y,
            **tol(dtype),
        )


def test_mean_of_an_empty_batch_is_nan_like_torch() -> None:
    x = torch.zeros(0, 3)
    assert torch.isnan(F.mse_loss(x, x)) and torch.isnan(TF.mse_loss(x, x))


def test_reduction_is_checked() -> None:
    with pytest.raises(ValueError, match="'mean', 'sum' or 'none'"):
        F.mse_loss(torch.zeros(2), torch.zeros(2), reduction="avg")


def test_kl_normal_matches_torch_distributions(same) -> None:
    torch.manual_seed(0)
    mu, logvar = torch.randn(4, 8, dtype=torch.float64), torch.randn(4, 8, dtype=torch.float64)

    def theirs(mu, logvar):
        q = Normal(mu, torch.exp(0.5 * logvar))
        return kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(dim=1)

    same(F.kl_normal, theirs, mu, logvar, atol=1e-10)
    assert F.kl_normal(torch.zeros(3, 2, 2), torch.zeros(3, 2, 2)).abs().max() == 0  # KL(p || p) = 0


# ----- GAN losses ------------------------------------------------------------------------------------


def test_gan_losses_match_their_bce_form(same) -> None:
    torch.manual_seed(0)
    real, fake = torch.randn(16, 1, dtype=torch.float64) * 3, torch.randn(16, 1, dtype=torch.float64) * 3

    def bce(z, y):
        return TF.binary_cross_entropy_with_logits(z, torch.full_like(z, y))

    same(
        lambda r, f: F.gan_discriminator_loss(r, f, "minimax"),
        lambda r, f: bce(r, 1.0) + bce(f, 0.0),
        real,
        fake,
        atol=1e-12,
    )
    same(
        lambda r, f: F.gan_discriminator_loss(r, f, "nonsaturating"),
        lambda r, f: bce(r, 1.0) + bce(f, 0.0),
        real,
        fake,
        atol=1e-12,
    )
    same(lambda f: F.gan_generator_loss(f, "nonsaturating"), lambda f: bce(f, 1.0), fake, atol=1e-12)
    same(
        lambda f: F.gan_generator_loss(f, "minimax"), lambda f: torch.log(1 - torch.sigmoid(f)).mean(), fake, atol=1e-12
    )
    same(
        lambda r, f: F.gan_discriminator_loss(r, f, "wasserstein"),
        lambda r, f: f.mean() - r.mean(),
        real,
        fake,
        atol=1e-12,
    )
    same(lambda f: F.gan_generator_loss(f, "wasserstein"), lambda f: -f.mean(), fake, atol=1e-12)
    with pytest.raises(ValueError, match="minimax, nonsaturating, wasserstein"):
        F.gan_generator_loss(fake, "hinge")


def test_minimax_generator_gradient_vanishes_where_nonsaturating_does_not() -> None:
    """Goodfellow et al.'s reason for the non-saturating loss: when D confidently rejects the
    fakes (logit -10), d/dz log(1 - sigma(z)) ~ e^-10 while d/dz -log sigma(z) ~ -1."""
    z = torch.full((4, 1), -10.0, dtype=torch.float64, requires_grad=True)
    (g_mm,) = torch.autograd.grad(F.gan_generator_loss(z, "minimax"), z)
    (g_ns,) = torch.autograd.grad(F.gan_generator_loss(z, "nonsaturating"), z)
    assert g_mm.abs().max() < 1e-4 < 0.2 < g_ns.abs().min()


def test_gradient_penalty_of_a_linear_critic_is_closed_form() -> None:
    """f(x) = <w, x> has grad_x f = w everywhere, so the penalty is (||w|| - 1)^2, and its gradient
    w.r.t. w is 2 (||w|| - 1) w / ||w|| (the penalty must train the critic: create_graph)."""
    torch.manual_seed(0)
    w = torch.randn(3 * 4 * 4, dtype=torch.float64, requires_grad=True)

    def critic(x):
        return x.reshape(x.shape[0], -1) @ w

    real, fake = torch.randn(8, 3, 4, 4, dtype=torch.float64), torch.randn(8, 3, 4, 4, dtype=torch.float64)
    gp = F.gradient_penalty(critic, real, fake)
    norm = w.detach().norm()
    torch.testing.assert_close(gp, (norm - 1) ** 2)
    (g,) = torch.autograd.grad(gp, w)
    torch.testing.assert_close(g, 2 * (norm - 1) * w.detach() / norm)


def test_gradient_penalty_interpolates_between_real_and_fake() -> None:
    seen = []

    def critic(x):
        seen.append(x.detach())
        return (x**2).sum(dim=(1, 2, 3))

    real, fake = torch.ones(2, 1, 2, 2, dtype=torch.float64), torch.zeros(2, 1, 2, 2, dtype=torch.float64)
    alpha = torch.tensor([0.25, 0.75], dtype=torch.float64)
    gp = F.gradient_penalty(critic, real, fake, alpha=alpha)
    torch.testing.assert_close(seen[0][:, 0, 0, 0], alpha)
    # grad of sum x^2 is 2x: norm 2 * alpha * sqrt(4) = 4 alpha
    torch.testing.assert_close(gp, ((4 * alpha - 1) ** 2).mean())


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_and_log_softmax_match_torch(dtype, same, tol) -> None:
    torch.manual_seed(0)
    z = torch.randn(4, 7, dtype=dtype) * 10
    z[0, 0] = 500.0  # e^500 overflows without the shift
    for dim in (0, 1, -1):
        same(lambda z, d=dim: F.softmax(z, d), lambda z, d=dim: torch.softmax(z, d), z, **tol(dtype))
        same(lambda z, d=dim: F.log_softmax(z, d), lambda z, d=dim: torch.log_softmax(z, d), z, **tol(dtype))
    blocked = torch.full((2, 3), float("-inf"), dtype=dtype)
    assert torch.equal(F.softmax(blocked), torch.zeros_like(blocked))  # torch.softmax gives NaN here

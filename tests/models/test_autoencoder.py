"""Autoencoders and VAEs: the equations against torch.distributions, shapes, conditioning, errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal
from torch.distributions import kl_divergence as torch_kl

import archzoo
from archzoo.models.autoencoder import AutoencoderConfig, kl_divergence
from archzoo.tasks.vae import importance_nll


def test_kl_closed_form_matches_torch_distributions() -> None:
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    ref = torch_kl(Normal(mu, torch.exp(0.5 * logvar)), Normal(torch.zeros(5, 7), torch.ones(5, 7))).sum(1)
    torch.testing.assert_close(kl_divergence(mu, logvar), ref)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_log_prob_matches_torch_distributions(likelihood: str) -> None:
    torch.manual_seed(0)
    model = archzoo.create_model("vae_mlp", likelihood=likelihood)
    x, logits = torch.rand(3, 1, 28, 28), torch.randn(3, 1, 28, 28)
    if likelihood == "bernoulli":  # on grey levels: the cross-entropy that PyTorch's example sums
        ref = -torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        torch.testing.assert_close(Bernoulli(logits=logits).log_prob((x > 0.5).float()).flatten(1).sum(1),
                                   model.log_prob(logits, (x > 0.5).float()))
    else:
        with torch.no_grad():
            model.log_sigma.fill_(-1.3)
        ref = Normal(torch.sigmoid(logits), math.exp(-1.3)).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(model.log_prob(logits, x), ref)


def test_vae_mlp_is_the_pytorch_example() -> None:
    model = archzoo.create_model("vae_mlp")
    shapes = [tuple(p.shape) for p in model.parameters()]
    # fc1 784->400, fc21 and fc22 400->20, fc3 20->400, fc4 400->784 (weights and biases)
    assert sorted(shapes) == sorted([(400, 784), (400,), (20, 400), (20,), (20, 400), (20,), (400, 20), (400,),
                                     (784, 400), (784,)])
    assert archzoo.count_params(model) == 652_824
    assert archzoo.count_params(archzoo.create_model("vae_mlp", likelihood="gaussian")) == 652_825  # + log sigma


def test_reparameterisation_is_differentiable_and_eval_is_deterministic() -> None:
    torch.manual_seed(0)
    model = archzoo.create_model("vae_conv")
    x = torch.rand(4, 1, 28, 28)
    logits, mu, logvar = model(x)
    assert logits.shape == x.shape and mu.shape == logvar.shape == (4, 20)
    logits.sum().backward()
    assert model.logvar.weight.grad is not None and model.logvar.weight.grad.abs().sum() > 0  # through sigma
    model.eval()
    torch.testing.assert_close(model(x)[0], model(x)[0])
    model.train()
    assert not torch.equal(model(x)[0], model(x)[0])  # sampled codes in training


@pytest.mark.parametrize("name", ["ae_mlp", "ae_conv"])
def test_bottleneck_of_two(name: str) -> None:
    model = archzoo.create_model(name, latent_dim=2)
    x = torch.rand(3, 1, 28, 28)
    assert model.encode(x).shape == (3, 2) and model(x).shape == x.shape
    assert model.reconstruct(x).min() >= 0 and model.reconstruct(x).max() <= 1


def test_other_image_sizes_and_channels() -> None:
    model = archzoo.create_model("vae_conv", in_channels=3, image_size=(32, 16))
    assert model(torch.rand(2, 3, 32, 16))[0].shape == (2, 3, 32, 16)
    with pytest.raises(ValueError, match="divisible by 4"):
        archzoo.create_model("ae_conv", image_size=(30, 28))


def test_conditional_vae_uses_the_class() -> None:
    torch.manual_seed(0)
    model = archzoo.create_model("cvae").eval()
    z = torch.randn(1, 20).expand(10, -1)
    images = torch.sigmoid(model.decode(z, torch.arange(10)))
    assert images.shape == (10, 1, 28, 28) and not torch.allclose(images[0], images[1])  # same code, new class
    conv = archzoo.create_model("vae_conv", conditional=True)
    assert conv(torch.rand(2, 1, 28, 28), torch.tensor([1, 2]))[0].shape == (2, 1, 28, 28)


@pytest.mark.parametrize(("call", "message"), [
    (lambda m: m(torch.rand(2, 1, 28, 28)), "needs the classes"),
    (lambda m: m(torch.rand(2, 1, 28, 28), torch.tensor([0, 10])), r"ids in 0\.\.9"),
])
def test_conditional_errors(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(archzoo.create_model("cvae"))


def test_unconditional_vae_refuses_classes() -> None:
    with pytest.raises(ValueError, match="not conditional"):
        archzoo.create_model("vae_mlp")(torch.rand(2, 1, 28, 28), torch.tensor([0, 1]))


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match="bottleneck size"):
        AutoencoderConfig(latent_dim=0)
    with pytest.raises(ValueError, match="bernoulli, gaussian"):
        AutoencoderConfig(likelihood="poisson")
    with pytest.raises(ValueError, match="exactly 28x28"):
        archzoo.create_model("ae_mlp")(torch.rand(1, 1, 32, 32))


def test_importance_weighted_bound_matches_its_definition_and_tightens() -> None:
    torch.manual_seed(0)
    model = archzoo.create_model("vae_mlp", hidden=(64,), latent_dim=4).eval()
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        got = importance_nll(model, x, None, 6, torch.Generator().manual_seed(5), max_rows=6)  # 2 codes per pass
        # written out with torch.distributions, the same draws
        mu, logvar = model.encode(x)
        q = Normal(mu, torch.exp(0.5 * logvar))
        g = torch.Generator().manual_seed(5)
        eps = torch.cat([torch.randn((2, 3, 4), generator=g) for _ in range(3)])  # as drawn, two codes a pass
        z = mu + eps * q.scale
        log_px = torch.stack([model.log_prob(model.decode(z[i]), x) for i in range(6)])
        log_w = log_px + Normal(0.0, 1.0).log_prob(z).sum(-1) - q.log_prob(z).sum(-1)
        torch.testing.assert_close(got, -(torch.logsumexp(log_w, 0) - math.log(6)))
        # with many samples the bound is tighter than -ELBO (its KL in closed form)
        neg_elbo = -log_px.mean(0) + kl_divergence(mu, logvar)
        many = importance_nll(model, x, None, 500, torch.Generator().manual_seed(1))
    assert (many < neg_elbo).all()

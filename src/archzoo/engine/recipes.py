"""Default recipes: the training settings that give a good result for a (model, dataset) pair.

Looked up from the most specific key to the least: (model, data), (model, *), (family, data),
(family, *), (*, data), then the defaults of TrainConfig. Every flag the user gives overrides the
recipe. The figures each recipe reaches are in README.md with the commands that measured them.
"""

from __future__ import annotations

from typing import Any

from archzoo.engine.config import ConfigError

_IMAGE_28 = ("fashion-mnist", "mnist")

RECIPES: dict[tuple[str, str], dict[str, Any]] = {
    # LeNet-5: the same recipe code for MNIST and Fashion-MNIST (the paper's 20 passes shortened)
    ("lenet5", "*"): dict(epochs=10, batch_size=128, optimizer="adamw", lr=4e-3, weight_decay=1e-4,
                          schedule="onecycle", augment="none", val_size=1 / 12),
    ("lenet5_modern", "*"): dict(epochs=12, batch_size=64, optimizer="adamw", lr=2e-3, weight_decay=1e-4,
                                 schedule="onecycle", augment="none", val_size=1 / 12),
    ("mlp", "*"): dict(epochs=12, batch_size=128, optimizer="adamw", lr=1e-3, weight_decay=1e-4,
                       schedule="onecycle", augment="none", val_size=1 / 12,
                       model_overrides={"dropout": 0.2}),
    ("mlp", "sine"): dict(epochs=300, batch_size=64, optimizer="adam", lr=1e-2, schedule="cosine",
                          val_size=0, model_overrides={"depth": 1, "width": 64, "act": "tanh"}),
    ("mlp", "xor"): dict(epochs=50, batch_size=32, optimizer="adam", lr=1e-2, schedule="constant",
                         model_overrides={"depth": 1, "width": 8, "act": "tanh"}),
    ("mlp", "spirals"): dict(epochs=200, batch_size=64, optimizer="adam", lr=1e-2, schedule="cosine",
                             model_overrides={"depth": 3, "width": 64, "act": "relu"}),
    ("perceptron", "*"): dict(epochs=100, batch_size=100_000, optimizer="sgd", lr=1.0, schedule="constant",
                              channels_last=False, val_size=0),
}

# Architecture search (archzoo.nas): every trial (shortened to its budget) and the retraining of the network found
# use lenet5_modern's recipe, so that a found network and LeNet-5 are compared at equal training.
RECIPES[("nas", "*")] = dict(RECIPES[("lenet5_modern", "*")])

# The CNN zoo on 28x28 images: each family's small-input option, AdamW with decoupled weight decay,
# one-cycle, label smoothing 0.1; ViT and Swin re-sized to the image (see their model cards).
_SMALL_IMAGES = dict(epochs=10, batch_size=128, optimizer="adamw", lr=2e-3, weight_decay=0.05, schedule="onecycle",
                     label_smoothing=0.1, val_size=1 / 12)
_SMALL_INPUT_FAMILIES = ("alexnet", "vgg", "resnet", "densenet", "squeezenet", "efficientnet", "mobilenet", "convnext")
RECIPES.update({(family, data): {**_SMALL_IMAGES, "model_overrides": {"small_input": True}}
                for family in _SMALL_INPUT_FAMILIES for data in _IMAGE_28})
# MobileNet V3 keeps torchvision's BatchNorm momentum 0.01, made for 600 ImageNet epochs: over a short
# run its running statistics lag the network and evaluation collapses (13.24% after one Fashion-MNIST
# epoch, 86.84% at 0.1; see archzoo.models.mobilenet); PyTorch's default 0.1 keeps up.
RECIPES.update({(model, data): {**_SMALL_IMAGES, "model_overrides": {"small_input": True, "bn_momentum": 0.1}}
                for model in ("mobilenet_v3_small", "mobilenet_v3_large") for data in _IMAGE_28})
RECIPES.update({("vit", data): {**_SMALL_IMAGES, "lr": 1e-3, "model_overrides": {"image_size": 28, "patch_size": 4}}
                for data in _IMAGE_28})
RECIPES.update({("swin", data): {**_SMALL_IMAGES, "lr": 1e-3, "model_overrides": {"patch_size": 2, "window_size": 7}}
                for data in _IMAGE_28})

# Named recipes, chosen with --recipe NAME: (model, data, name) -> settings.
NAMED_RECIPES: dict[tuple[str, str, str], dict[str, Any]] = {
    # time to accuracy on 2 CPU cores: all 60,000 training images (no validation carve-out), large
    # batches for throughput, one-cycle to a high peak. The paper's widths stall near 91.3% (seeds 0-2
    # ended at 90.8-91.4% after 14-20 epochs), so C1 and C3 are widened to 16 and 32 maps (120,382
    # parameters) and the labels smoothed: 91.8-92.2% after 7 epochs, as after 10 or 16; bf16 where it
    # is native and faster. See docs/results/time_to_accuracy.md
    ("lenet5_modern", "fashion-mnist", "fast"): dict(
        epochs=7, batch_size=128, optimizer="adamw", lr=4e-3, weight_decay=1e-4, schedule="onecycle",
        label_smoothing=0.1, augment="none", val_size=0, eval_batch_size=2000, precision="auto",
        model_overrides={"widths": (16, 32, 120, 84)}),
}
# Longer training for the 28x28 zoo: each default recipe above with random 2-pixel shifts and left-right
# flips (garments are close to mirror-symmetric) over 30 epochs; benchmarks/cnn_fashion_mnist.py
# --recipe long measures it. ResNets keep the optimizer of He et al.: SGD with momentum 0.9 (Nesterov
# here), peak lr 0.1, weight decay on the convolution and linear weights.
_LONG_BY_FAMILY: dict[str, dict[str, Any]] = {"resnet": dict(optimizer="nesterov", lr=0.1, weight_decay=5e-4)}
NAMED_RECIPES.update({(model, data, "long"): {**settings, "epochs": 30, "augment": "crop_flip",
                                              **_LONG_BY_FAMILY.get(model, {})}
                      for (model, data), settings in RECIPES.items() if data in _IMAGE_28})

# Language models. nanoGPT's README runs its character model on a CPU with 4 layers, 4 heads, 128 wide,
# 64 characters of context, batch 12, 2,000 iterations, lr 1e-3 cosine-decayed to 1e-4 after 100 warmup
# iterations, AdamW (beta2 0.99, weight decay 0.1), gradient clipping at 1, no dropout: that configuration,
# on archzoo's own gpt, is the named recipe nanogpt-cpu (8 epochs of 250 steps: it evaluates every 250).
NAMED_RECIPES[("gpt", "*", "nanogpt-cpu")] = dict(
    epochs=8, epoch_steps=250, batch_size=12, seq_len=64, optimizer="adamw", lr=1e-3, min_lr=1e-4,
    warmup_epochs=0.4, schedule="cosine", weight_decay=0.1, beta2=0.99, grad_clip=1.0, eval_batch_size=256,
    precision="fp32", model_overrides={"n_layer": 4, "n_head": 4, "n_embd": 128, "dropout": 0.0})

# Text classification: MR sentence polarity, and (the (model, *) entries) any textcls:DIR. Every text
# classifier reads words (TrainConfig's default tokenizer is characters, for language models); 10% of the
# training texts (stratified) validate and choose best.safetensors, as Kim's dev set; the test split (the
# fold, under --folds) is reported from the final weights. Kim 2014's CNN-rand: batch 50, max-norm 3 (the
# model's constrain), every word of the training texts (min_freq 1), as the paper; Kim's Adadelta (rho 0.95,
# lr 1) is replaced by Adam: on MR's fixed 90/10 split Adadelta reached 74.7% test accuracy after 10 epochs
# (114 s), 72.5% after 6 with a cosine decay, while Adam at 3e-3, cosine-decayed over 3 epochs, reached 78.3%
# in 34 s (1e-3 over 5 epochs: 78.2%). The LSTM and the Transformer learn an <unk> from the words seen once
# (min_freq 2); the LSTM's 3 epochs at 2e-3 reached 78.0% on that split (8 at 1e-3: 73.9%, overfitting), the
# Transformer's 4 at 1e-3 70.0% (66 s; 10 epochs cost 170 s a fold).
_TEXT_CLS = dict(tokenizer="word", val_size=0.1, batch_size=50, eval_batch_size=1000)
_TEXT_CLASSIFIERS: dict[str, dict[str, Any]] = {
    "kim_cnn": dict(_TEXT_CLS, epochs=3, optimizer="adam", lr=3e-3, schedule="cosine", min_freq=1),
    "lstm_classifier": dict(_TEXT_CLS, epochs=3, optimizer="adam", lr=2e-3, schedule="cosine", grad_clip=5.0,
                            min_freq=2),
    "transformer_classifier": dict(_TEXT_CLS, epochs=4, optimizer="adamw", lr=1e-3, weight_decay=0.01,
                                   warmup_epochs=0.5, schedule="cosine", min_freq=2),
}
RECIPES.update({(model, data): settings for model, settings in _TEXT_CLASSIFIERS.items() for data in ("mr", "*")})


# The default gpt recipe for Tiny Shakespeare: nanogpt-cpu's 4x128 model, trained to a lower loss in less
# time: batches of 32 windows (better matrix shapes than 12), a higher peak lr (6e-3 over 600 steps ended at
# 1.852 where 4e-3 ended at 1.895), an evaluation of the whole validation text every 200 steps, bf16 where
# it is native and faster. benchmarks/language_models.py measures it beside nanogpt-cpu.
RECIPES[("gpt", "tinyshakespeare")] = dict(
    epochs=3, epoch_steps=200, batch_size=32, seq_len=64, optimizer="adamw", lr=6e-3, min_lr=6e-4,
    warmup_epochs=0.25, schedule="cosine", weight_decay=0.1, beta2=0.99, grad_clip=1.0, eval_batch_size=256,
    precision="auto", model_overrides={"n_layer": 4, "n_head": 4, "n_embd": 128, "dropout": 0.0})


# char-rnn on any corpus: truncated BPTT over 64 characters in 32 streams, Adam (char-rnn uses RMSprop at
# 2e-3; Adam at the same rate trains as well and is the default of its successors), clipping at 5 as
# char-rnn, three passes over the text, bf16 where it is native and faster.
RECIPES[("char_rnn", "*")] = dict(
    epochs=3, batch_size=32, bptt=64, optimizer="adam", lr=2e-3, min_lr=2e-4, schedule="cosine", grad_clip=5.0,
    precision="auto")


# Half an hour of 2 CPU cores on Tiny Shakespeare: char-rnn's 2x512 GRU, which learnt the most per second
# here (1.529 after three passes, against 1.658 for the LSTM), for 14 passes with dropout 0.2 between and
# above its layers.
NAMED_RECIPES[("char_gru", "tinyshakespeare", "30min")] = dict(
    RECIPES[("char_rnn", "*")], epochs=14, model_overrides={"dropout": 0.2})


def recipe(model: str, family: str, data: str, name: str = "default") -> dict[str, Any]:
    """The recipe for (model, data): a dict of TrainConfig fields (model_overrides included).

    ``name`` other than "default" selects a named recipe; the error lists those that exist.
    """
    if name != "default":
        for key in ((model, data, name), (model, "*", name), (family, data, name), (family, "*", name)):
            if key in NAMED_RECIPES:
                return {k: (dict(v) if isinstance(v, dict) else v) for k, v in NAMED_RECIPES[key].items()}
        here = sorted({n for m, d, n in NAMED_RECIPES if m in (model, family) and d in (data, "*")})
        raise ConfigError(f"no recipe {name!r} for {model} on {data}; "
                          f"named recipes for it: {', '.join(here) or 'none'}")
    for key in ((model, data), (model, "*"), (family, data), (family, "*"), ("*", data)):
        if key in RECIPES:
            return {k: (dict(v) if isinstance(v, dict) else v) for k, v in RECIPES[key].items()}
    return {}


# Translation (Multi30k, parallel:DIR): one BPE vocabulary of 8,000 learnt on both sides of the training
# pairs, batches of 128 sentence pairs bucketed by length, label smoothing 0.1, greedy BLEU on the
# validation set after every epoch (it chooses best.safetensors), beam 5 with Wu et al.'s length penalty
# 0.6 at the end. The Transformers: Adam with beta2 0.98 and the paper's inverse-square-root schedule
# (warmup over the first two epochs); the recurrent models: Adam at 1e-3 with clipping at 1, as
# bentrevett/pytorch-seq2seq's notebooks.
_TRANSLATION = dict(tokenizer="bpe", bpe_vocab_size=8000, joint_vocab=True, batch_size=128, eval_batch_size=200,
                    seq_len=100, label_smoothing=0.1, beam=5, val_beam=1, length_penalty=0.6, precision="auto")
_TRANSLATORS: dict[str, dict[str, Any]] = {
    "transformer_small": dict(_TRANSLATION, epochs=20, optimizer="adamw", lr=1e-3, beta2=0.98, weight_decay=1e-4,
                              schedule="inverse_sqrt", warmup_epochs=2.0, grad_clip=1.0),
    "transformer_base": dict(_TRANSLATION, epochs=20, optimizer="adamw", lr=5e-4, beta2=0.98, weight_decay=1e-4,
                             schedule="inverse_sqrt", warmup_epochs=2.0, grad_clip=1.0),
    "seq2seq_attention": dict(_TRANSLATION, epochs=10, optimizer="adam", lr=1e-3, schedule="cosine", grad_clip=1.0),
    "seq2seq_gru": dict(_TRANSLATION, epochs=10, optimizer="adam", lr=1e-3, schedule="cosine", grad_clip=1.0),
}
RECIPES.update({(model, "*"): settings for model, settings in _TRANSLATORS.items()})


# Autoencoders and VAEs on 28x28 images: Adam (Kingma & Welling's optimiser, PyTorch's example), a cosine
# decay, a twelfth of the training images (5,000 of 60,000) held out to choose best.safetensors; pixels in
# [0, 1] scored by their cross-entropy. Autoencoders take batches of 128 at 1e-3. VAEs take batches of 256 at
# 2e-3: the same test -ELBO for vae_mlp in 20 epochs (243.35 against 243.32 nats) in half the optimizer
# steps; it trained in a median 38.0 s where batch 128 had taken 52.2 s in an earlier run (docs/autoencoders.md).
_GENERATIVE_28 = dict(epochs=20, batch_size=128, eval_batch_size=1000, optimizer="adam", lr=1e-3, schedule="cosine",
                      val_size=1 / 12, augment="none", precision="fp32")
RECIPES.update({("autoencoder", data): dict(_GENERATIVE_28) for data in _IMAGE_28})
RECIPES.update({("vae", data): dict(_GENERATIVE_28, batch_size=256, lr=2e-3) for data in _IMAGE_28})


# Generative adversarial networks (archzoo.tasks.adversarial): a constant learning rate, no validation carve-out.
# gan_mlp: the non-saturating loss with Adam at 2e-4, beta1 0.5 (Radford et al. 2016's settings, which the
# MLP GANs of PyTorch's and Keras's examples keep). wgan: Arjovsky et al.'s Algorithm 1: RMSprop at 5e-5,
# weights clipped to [-0.01, 0.01], 5 critic steps of 64 per generator step. wgan_gp: Gulrajani et al.'s
# Algorithm 1: a gradient penalty of 10, Adam at 1e-4 with betas (0, 0.9), 5 critic steps of 64 (a batch of
# 320 is cut into the critic's 5 parts). dcgan: Radford et al.'s Adam 2e-4, beta1 0.5, batch 128. gman:
# gan_mlp's recipe, its discriminators each with their own Adam. Epochs on the 60,000 images are sized to train
# within half an hour on one thread of an AVX2 machine, from one epoch of 6,400 images each (train wall time:
# gan_mlp 5.1 s, wgan 2.7 s, wgan_gp 3.5 s, dcgan 32.4 s): 30 passes for the MLP GANs (47, 25 and 33 s an epoch),
# 20 for gman (K = 2 discriminators), 5 for dcgan (about 300 s an epoch). Measured in docs/results/gans.md.
_GAN = dict(schedule="constant", val_size=0, augment="none", precision="fp32", eval_batch_size=1000)
_GAN_MODELS: dict[str, dict[str, Any]] = {
    "gan_mlp": dict(_GAN, gan_loss="non_saturating", critic_steps=1, optimizer="adam", lr=2e-4, beta1=0.5,
                    beta2=0.999, batch_size=64),
    "wgan": dict(_GAN, gan_loss="wasserstein", critic_steps=5, clip_value=0.01, optimizer="rmsprop", lr=5e-5,
                 batch_size=320),
    "wgan_gp": dict(_GAN, gan_loss="wasserstein", critic_steps=5, gp_lambda=10.0, optimizer="adam", lr=1e-4,
                    beta1=0.0, beta2=0.9, batch_size=320),
    "dcgan": dict(_GAN, gan_loss="non_saturating", critic_steps=1, optimizer="adam", lr=2e-4, beta1=0.5,
                  beta2=0.999, batch_size=128),
    "gman": dict(_GAN, gan_loss="non_saturating", critic_steps=1, optimizer="adam", lr=2e-4, beta1=0.5,
                 beta2=0.999, batch_size=64),
}
_GAN_EPOCHS = {"gan_mlp": 30, "wgan": 30, "wgan_gp": 30, "gman": 20, "dcgan": 5}
# gman samples from a moving average of G (decay 0.999): fid_clf 7.12 against 9.98 without, the same run otherwise
# (docs/gans.md); the other GANs' recipes have not been measured with one yet.
_GAN_EMA = {"gman": 0.999}
RECIPES.update({(model, data): dict(settings, epochs=_GAN_EPOCHS[model], ema=_GAN_EMA.get(model, 0.0))
                for model, settings in _GAN_MODELS.items() for data in _IMAGE_28})
RECIPES.update({("dcgan", "fashion-mnist-32"): dict(_GAN_MODELS["dcgan"], epochs=5)})
# stylegan (Karras et al. 2019's loss: non-saturating with R1 on real images; Adam 2e-3 betas (0, 0.99); a moving
# average of G for sampling): on Fashion-MNIST (28 or 32 pixels) batch 64, R1 gamma 0.1, ema 0.995; 2 passes
# (1,876 steps), sized to an hour from a step of 2.6 s on one thread of an AVX2 machine running two other jobs
# (0.5-1.2 s on an AVX-512 machine). Measured end to end (benchmarks/gans.py --parts stylegan, one thread of a
# 2-core AVX2 machine running three other jobs): 4,376 s, fid_clf 25.08 with 10 classes. On two free threads of
# that machine a step takes 1.12 s (215 in 241 s), about 35 minutes for the 1,876.
_STYLEGAN = dict(_GAN, gan_loss="non_saturating", critic_steps=1, r1_gamma=0.1, optimizer="adam", lr=2e-3, beta1=0.0,
                 beta2=0.99, batch_size=64, ema=0.995)
RECIPES.update({("stylegan", data): dict(_STYLEGAN, epochs=2) for data in (*_IMAGE_28, "fashion-mnist-32")})
# On the 320 ORL faces (64x64, the limited-data regime): batch 32, R1 gamma 1 (a stronger penalty for so few
# images), random mirroring, DiffAugment (color, translation, cutout: D sees every image through it, real and
# generated) and progressive growing, 4x4 to 64x64 in nine phases of 27 passes of 10 steps: 243 passes, 3,006 s on
# two threads of an AVX2 machine. That run had the health check off; D told the 80 held-out faces from as many
# generated ones at 99% or more at 11 single evaluations, never two in a row, so the default check (5) would not
# have stopped it. Sampling from G itself (ema 0): a moving average of 0.998 has a half-life of 346 steps, longer
# than a phase (270), and blends the stages of growing into saturated blotches, while G draws faces. The average
# does not touch G's training, so the run that measured this recipe kept one as well (benchmarks/gans.py --parts
# faces-progressive; docs/gans.md). At full size from the start, 80 passes (4,391 s on one thread) gave no faces.
RECIPES[("stylegan", "orl-faces")] = dict(_STYLEGAN, epochs=243, batch_size=32, r1_gamma=1.0, ema=0.0, augment="flip",
                                          diffaugment="color,translation,cutout", model_overrides={"progressive": True})
# On the 2-D mixtures: Metz et al.'s toy networks (z of 256, two hidden layers of 128 in G) and a critic of two
# layers of 128, 20 passes over the 100,000 points, gan_mlp and gman at batch 256 and lr 1e-3, the Wasserstein
# models at their papers' rates with 5 critic parts of 256. What they reach (docs/results/gans.md, one thread, about
# a minute each): the least-squares and hinge losses and gman (K = 2) cover the ring's 8 modes, the minimax and
# non-saturating losses collapse to 3; no loss covers more than 6 of the grid's 25, where G spreads its samples
# along the square's edges; wgan and wgan_gp, at 1e-4 and 5e-5 with 1,560 generator steps, are still a blob
# over the plane (Gulrajani et al. run 100,000; a 1e-3 rate, penalties of 10 and 0.1, batches of 320 and 1,280,
# beta1 0 and 0.5, a moving average and a linear decay did not gather them within a CPU budget). Gulrajani et al.'s
# own toy setup does: a code of 2 (model.latent_dim=2), the points at unit scale (model.point_scale=2.828),
# gp_lambda 0.1, beta1 0.5, lr 5e-4: 25 of 25 modes with 78% of high quality after 200 passes, 89% after 400; the
# minimax game on those networks and points covers the 25 too, with 96% after 200 (benchmarks/gans.py --parts long,
# docs/gans.md).
_MIXTURES = ("gaussians25", "gaussians8")
_MIXTURE_NETS = {"latent_dim": 256, "g_hidden": (128, 128), "d_hidden": (128, 128)}
_MIXTURE_RUNS = {"gan_mlp": dict(batch_size=256, lr=1e-3), "gman": dict(batch_size=256, lr=1e-3),
                 "wgan": dict(batch_size=1280),
                 "wgan_gp": dict(batch_size=1280)}
RECIPES.update({(model, data): dict(settings, epochs=20, **_MIXTURE_RUNS[model], model_overrides=dict(_MIXTURE_NETS))
                for model, settings in _GAN_MODELS.items() if model in _MIXTURE_RUNS for data in _MIXTURES})


# CycleGAN on unpaired domains (archzoo.tasks.adversarial_cycle; sneakers2boots = unpaired:fashion-mnist:7,9):
# Zhu et al.'s least squares loss, cycle weight 10, identity 0.5, pools of 50, Adam 2e-4 betas (0.5, 0.999),
# decayed linearly to 0 (the paper holds the rate for its first 100 epochs, then decays it over 100 more; here the
# decay spans the run), batches of 16 images of each domain (the paper's 1, for throughput), no augmentation, no
# validation carve-out (the test split's 1,000 images of each domain are judged each epoch). The networks are
# narrowed for 28x28 images and one CPU thread: generators of width 16 with 3 residual blocks, discriminators of
# d_width 32 (the model's defaults, 32 / 6 / 64, took 2.3 s a step there against 0.55 s: 72 minutes for 5 epochs).
# Measured with `archzoo train cyclegan --data unpaired:fashion-mnist:7,9 --device cpu` (seed 0, one thread of a busy
# 2-core machine, 879 s for the 4 epochs of 375 steps): on the 1,000 test images of each domain, the Fashion-MNIST
# feature classifier (archzoo.analysis.generated) takes 97.4% of the sneakers translated to boots for ankle boots
# and 92.0% of the boots translated to sneakers for sneakers (96.6% and 97.1% of the real test images for their own
# class); cycle errors |F(G(a)) - a| 0.048 and |G(F(b)) - b| 0.061 in [0, 1] pixel units. After one epoch: 96.5% and
# 91.1%.
_CYCLEGAN = dict(gan_loss="least_squares", cycle_lambda=10.0, identity_weight=0.5, pool_size=50, optimizer="adam",
                 lr=2e-4, beta1=0.5, beta2=0.999, schedule="linear", batch_size=16, eval_batch_size=1000, epochs=4,
                 val_size=0, augment="none", precision="fp32",
                 model_overrides={"width": 16, "blocks": 3, "d_width": 32})
RECIPES[("cyclegan", "*")] = _CYCLEGAN

# Forecasters (archzoo.tasks.forecasting) on series of a few hundred points. The heads start at zero with a skip
# from the last observed value, so an untrained forecaster repeats the last (transformed) value; on AirPassengers'
# log seasonal differences that is the seasonal naive forecast grown by the last year's growth (MAPE 4.35% over the
# 36 test months), and longer or faster training than 20 passes at 3e-4 over its few training windows made every
# forecaster worse there (MLP 5.5-10%, LSTM 5.8-13%: it fits the noise of so few windows). Horizon 6 from a window
# of 12 months, rolled forward for the 36-month forecast (benchmarks/forecasting.py measures it beside log
# differences without the skip, which forecast 6 months better and 36 worse). The sunspot series are
# forecast one step ahead (Zhang 2003's protocol) from the last 12 years or 36 months; the stock indices one
# business day ahead on log returns.
_FORECAST = dict(epochs=30, batch_size=32, optimizer="adamw", lr=1e-3, weight_decay=1e-4, schedule="cosine",
                 val_size=0, eval_batch_size=1000, channels_last=False)
RECIPES[("forecaster", "*")] = _FORECAST
RECIPES[("forecaster", "airpassengers")] = dict(_FORECAST, transform="log,sdiff", epochs=20, batch_size=16, lr=3e-4,
                                                horizon=6, stride=6, model_overrides={"window": 12})
RECIPES[("forecaster", "sunspots-yearly")] = dict(_FORECAST, horizon=1, stride=1, model_overrides={"window": 12})
RECIPES[("forecaster", "sunspots-monthly")] = dict(_FORECAST, epochs=10, horizon=1, stride=1, batch_size=64,
                                                   model_overrides={"window": 36})
RECIPES[("forecaster", "eu-stocks")] = dict(_FORECAST, epochs=10, transform="log,diff", horizon=1, stride=1,
                                            batch_size=64, model_overrides={"window": 20})
# Sequence autoencoders for anomaly detection (archzoo.tasks.anomaly): windows of 32 points, AdamW, 50 passes in
# batches of 32 (on 400 training windows of a weekly pattern, 15 passes of 64 left the reconstruction error at 0.9
# of the variance and a spike of 2.4 standard deviations unflagged; 60 passes of 64 brought the spike's
# score to 17 times the largest elsewhere).
RECIPES[("series_autoencoder", "*")] = dict(epochs=50, batch_size=32, optimizer="adamw", lr=1e-3, weight_decay=1e-4,
                                            schedule="cosine", val_size=0, eval_batch_size=1000, channels_last=False)

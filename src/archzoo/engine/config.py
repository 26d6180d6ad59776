"""The resolved configuration of a training run: recipe defaults, then the user's flags, validated.

Everything that decides what a run computes is here, and all of it is written to config.json, so a
run directory alone says how to reproduce (and resume) it.
"""

from __future__ import annotations

import ast
import dataclasses
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A bad flag or setting; the message says which and what is valid."""


@dataclass
class TrainConfig:
    model: str
    data: str
    recipe: str = "default"
    data_root: str | None = None
    encoding: str = "utf-8"  # of text files (text:PATH, textcls:DIR)
    epochs: int = 10
    batch_size: int = 128
    eval_batch_size: int = 1000
    lr: float = 1e-3
    optimizer: str = "adamw"
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    step_epochs: int = 0  # 'step' schedule: decay every this many epochs (0 = a third of the run)
    gamma: float = 0.1
    label_smoothing: float = 0.0
    grad_clip: float = 0.0
    augment: str | None = None  # None: the dataset's default augmentation
    val_size: float = 0.0  # samples (>= 1) or fraction (< 1) carved from train when data has no val
    subset: int = 0  # use only this many training samples (0 = all)
    train_classes: str = ""  # "3" or "0,1,2": train and validate on these classes only; test keeps them all
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N; config.json records what it resolved to
    precision: str = "fp32"  # fp32 | bf16 | fp16 | auto; config.json records what it resolved to
    compile: bool = False
    deterministic: bool = False  # CUDA: deterministic kernels only, so repeats and resumes match bit for bit (slower)
    channels_last: bool = True
    max_time: float = 0.0  # seconds; 0 = no limit
    # text: tokenization and sequence batching (see archzoo.tasks.language_model)
    tokenizer: str = "char"  # char | word | bpe
    bpe_vocab_size: int = 1000
    min_freq: int = 1  # word tokenizer: words seen fewer times are <unk>
    split: float = 0.9  # language-model corpora: the first fraction trains, the rest validates
    seq_len: int = 256  # tokens per training window (and evaluation window)
    bptt: int = 0  # > 0: contiguous streams read this many tokens at a time, the recurrent state carried
    epoch_steps: int = 0  # steps per epoch of random windows (0: about one pass over the training text)
    min_lr: float = 0.0  # the floor that cosine and linear schedules decay to
    beta1: float = 0.9  # Adam's and AdamW's first-moment decay (GANs use 0.5 or 0)
    beta2: float = 0.999  # Adam's and AdamW's second-moment decay (nanoGPT uses 0.99 on small data)
    # cross-validation of text classification (see archzoo.engine.cv): a run with folds=K and fold=k
    # trains on the other K-1 folds of the data's train split and tests on fold k
    folds: int = 0  # 0: no cross-validation; K >= 2: `archzoo train --folds K` runs one fold run per fold
    fold: int = -1  # -1: no fold; 0..folds-1: the fold this run holds out as its test split
    # translation (see archzoo.tasks.translation)
    src_lang: str = ""  # parallel:DIR: the source language, the suffix of DIR/train.<src_lang>
    tgt_lang: str = ""  # and the target's
    joint_vocab: bool = True  # one subword vocabulary learnt on both sides of the training pairs (else one each)
    beam: int = 5  # beam width of the final evaluation (1: greedy)
    val_beam: int = 1  # beam width of the per-epoch validation that chooses best.safetensors
    length_penalty: float = 0.6  # Wu et al. 2016's alpha: hypotheses ranked by log P / ((5 + |Y|) / 6) ** alpha
    # autoencoders and VAEs (see archzoo.tasks.reconstruction and archzoo.tasks.vae)
    recon_loss: str = "bce"  # reconstruction: bce (pixels as Bernoulli intensities) | mse
    noise: str = "none"  # denoising: none | gaussian | masking | salt_pepper, applied to the inputs
    noise_level: float = 0.0  # gaussian: sigma; masking and salt_pepper: the fraction of pixels hit
    beta: float = 1.0  # the weight of the KL term in training (beta-VAE); the reported ELBO always uses 1
    kl_warmup_epochs: float = 0.0  # the KL weight rises linearly from 0 to beta over these epochs
    iw_samples: int = 100  # importance samples per test image for nll_iw (Burda et al.; 0: not computed)
    eval_samples: int = 10_000  # images a generative run draws at its end for metrics.samples (0: none)
    # generative adversarial networks (see archzoo.tasks.adversarial)
    gan_loss: str = "non_saturating"  # minimax | non_saturating | wasserstein | least_squares | hinge
    critic_steps: int = 1  # discriminator (critic) steps per generator step; each takes batch_size / critic_steps
    gp_lambda: float = 0.0  # WGAN-GP's two-sided gradient penalty on interpolates of real and generated data (0: off)
    r1_gamma: float = 0.0  # R1 penalty gamma / 2 * ||grad D(x)||^2 on real data (Mescheder et al. 2018; 0: off)
    clip_value: float = 0.0  # WGAN: the discriminator's weights clipped to [-c, c] after each of its steps (0: off)
    ema: float = 0.0  # decay of the moving average of G's weights that sampling uses (0: off; 0.999 is usual)
    # DiffAugment (Zhao et al. 2020): color, translation, cutout joined by commas, applied to every image D sees,
    # real and generated, in both players' steps ("": none); for images, where few of them let D memorise
    diffaugment: str = ""
    # CycleGAN (see archzoo.tasks.adversarial_cycle): the weight lambda of the cycle-consistency loss, the identity
    # loss's weight as a fraction of it (Zhu et al.'s lambda_id), and the images each history of generated images
    # keeps for its discriminator (Shrivastava et al.'s pool; 0: off)
    cycle_lambda: float = 10.0
    identity_weight: float = 0.5
    pool_size: int = 50
    # time-series forecasting (see archzoo.tasks.forecasting): the series' columns and frequency where the file does
    # not say them, the chronological test block, the horizon and the backtest's stride, the transform fitted on the
    # training part, the classical baselines scored beside the model, and the sample paths behind its intervals
    target: str = ""  # the column(s) to forecast, separated by commas ("": every numeric column but the covariates)
    covariates: str = ""  # input-only columns, separated by commas
    freq: str = ""  # yearly | quarterly | monthly | daily | business-daily ("": from the file's times)
    fill: str = ""  # "": gaps and missing values are errors; linear | previous: interpolate or carry them
    test_size: int = 0  # the last points held out (0: the dataset's convention, a fifth of the series for csv:PATH)
    horizon: int = 0  # points each forecast reaches (0: the model's own)
    stride: int = 0  # points between the backtest's rolling origins (0: the horizon)
    transform: str = "none"  # none, or log, diff, sdiff joined by commas (log,sdiff), fitted on the training part
    calendar: bool = False  # the season's phase (month of year, day of week) as two input channels, sin and cos:
    # known for every future step, unlike covariates, so forecasts roll past the horizon with them
    baselines: str = "naive,seasonal_naive,drift,ets,arima,theta"  # scored in the same evaluation ("none": none)
    interval_samples: int = 500  # sample paths of a Gaussian model's forecast, whose quantiles are its intervals
    # time-series anomaly detection (see archzoo.tasks.anomaly): events injected into the test block by the seeded
    # injector of archzoo.analysis.anomaly, and the threshold chosen on the scores of the points before it
    objective: str = ""  # "": the model's own task; "anomaly": a forecaster scores points by its forecast residuals
    inject: int = 8  # anomalous events injected into the test block (0: none; the run then reports flags, no scores)
    threshold: str = "quantile"  # quantile (the threshold_q quantile of the clean points' scores) | sigma (mean + k sd)
    threshold_q: float = 0.99
    threshold_k: float = 3.0
    # evaluations in a row that a task may find unhealthy (a discriminator that wins outright) before the run
    # stops, keeping the last healthy epoch's checkpoint (0: never stop for it)
    unhealthy_patience: int = 5
    # the splits evaluated ("": every split the data has besides train; "val": the validation split only, so an
    # architecture search's trials never see the test split)
    eval_splits: str = ""
    tensorboard: bool = False
    out: str = ""
    model_overrides: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
                    "eval_batch_size": self.eval_batch_size}
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be positive, got {value}")
        nonneg = {"weight_decay": self.weight_decay, "grad_clip": self.grad_clip, "max_time": self.max_time,
                  "subset": self.subset, "val_size": self.val_size, "warmup_epochs": self.warmup_epochs,
                  "label_smoothing": self.label_smoothing}
        for name, value in nonneg.items():
            if value < 0:
                raise ConfigError(f"{name} must be >= 0, got {value}")
        for name in ("seq_len", "bpe_vocab_size", "min_freq"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("bptt", "epoch_steps", "min_lr"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 < self.split < 1:
            raise ConfigError(f"split must be between 0 and 1 (the training fraction), got {self.split}")
        if not 0 <= self.beta1 < 1:
            raise ConfigError(f"beta1 must be in [0, 1), got {self.beta1}")
        if not 0 <= self.beta2 < 1:
            raise ConfigError(f"beta2 must be in [0, 1), got {self.beta2}")
        if self.label_smoothing >= 1:
            raise ConfigError(f"label_smoothing must be below 1, got {self.label_smoothing}")
        for name in ("beam", "val_beam"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1 (1: greedy decoding), got {getattr(self, name)}")
        if self.length_penalty < 0:
            raise ConfigError(f"length_penalty must be >= 0 (0: none), got {self.length_penalty}")
        if min(self.beta, self.kl_warmup_epochs, self.iw_samples, self.eval_samples) < 0:
            raise ConfigError(f"beta, kl_warmup_epochs, iw_samples and eval_samples must be >= 0, got {self.beta}, "
                              f"{self.kl_warmup_epochs}, {self.iw_samples}, {self.eval_samples}")
        if self.eval_samples == 1:
            raise ConfigError("eval_samples must be 0 (none) or at least 2 (a distance needs two samples)")
        if self.critic_steps < 1:
            raise ConfigError(f"critic_steps (discriminator steps per generator step) must be at least 1, "
                              f"got {self.critic_steps}")
        for name in ("gp_lambda", "r1_gamma", "clip_value"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0 (0: off), got {getattr(self, name)}")
        if self.unhealthy_patience < 0:
            raise ConfigError(f"unhealthy_patience must be >= 0 (0: never stop), got {self.unhealthy_patience}")
        for name in ("cycle_lambda", "identity_weight", "pool_size"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0 (0: off), got {getattr(self, name)}")
        if not 0 <= self.ema < 1:
            raise ConfigError(f"ema (the decay of G's moving average) must be in [0, 1) (0: off), got {self.ema}")
        for name in ("test_size", "horizon", "stride"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0 (0: the default), got {getattr(self, name)}")
        if self.inject < 0:
            raise ConfigError(f"inject (anomalous events injected into the test block) must be >= 0, got {self.inject}")
        if self.threshold not in ("quantile", "sigma"):
            raise ConfigError(f"threshold must be quantile or sigma, got {self.threshold!r}")
        if not 0 < self.threshold_q < 1 or self.threshold_k <= 0:
            raise ConfigError(f"threshold_q must be in (0, 1) and threshold_k positive, got {self.threshold_q} and "
                              f"{self.threshold_k}")
        if self.objective not in ("", "anomaly"):
            raise ConfigError(f"objective must be empty (the model's own task) or anomaly, got {self.objective!r}")
        if self.interval_samples < 1:
            raise ConfigError(f"interval_samples must be at least 1, got {self.interval_samples}")
        if self.eval_splits and not set(self.eval_splits.split(",")) <= {"val", "test"}:
            raise ConfigError(f"eval_splits must be val, test or val,test (empty: every split), got "
                              f"{self.eval_splits!r}")
        if self.folds < 0 or self.folds == 1:
            raise ConfigError(f"--folds must be at least 2 (0: no cross-validation), got {self.folds}")
        if not (self.fold == -1 or 0 <= self.fold < self.folds):
            valid = f"0..{self.folds - 1} (a fold of folds={self.folds})" if self.folds else "set only with folds"
            raise ConfigError(f"fold must be -1 (no fold) or {valid}, got {self.fold}")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        """The configuration a run recorded in ``path`` (its config.json), checked.

        Raises ConfigError, one line naming ``path``, when the file cannot be read, is not a JSON
        object, lacks ``model`` or ``data``, holds a value of the wrong type or an invalid one.
        """
        fix = "restore it from a copy, or start a new run with `archzoo train MODEL --data NAME`"
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                              f"{fix}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path} is not valid JSON (not UTF-8 text); {fix}") from None
        except OSError as exc:
            raise ConfigError(f"cannot read {path} ({exc.strerror or exc}); {fix}") from None
        if not isinstance(data, dict):
            kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
            kind = kinds.get(type(data), "a number")
            raise ConfigError(f"{path} holds {kind}, not a JSON object of settings; {fix}")
        for key in ("model", "data"):
            if key not in data:
                raise ConfigError(f"{path} has no {key!r} setting; {fix}")
        for f in fields(cls):
            allowed = _JSON_TYPES.get(str(f.type))
            if allowed is None or f.name not in data:
                continue
            value = data[f.name]
            # bool is an int to Python, but never a number of epochs or a learning rate
            if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
                raise ConfigError(f"{path}: {f.name!r} must be {_TYPE_NAMES[str(f.type)]}, got {value!r}; {fix}")
        cfg = cls.from_json(data)
        try:
            cfg.validate()
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}; {fix}") from None
        return cfg


# The JSON types each annotation of TrainConfig accepts (annotations are strings here: see
# `from __future__ import annotations`), for checking a config.json read back from disk.
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "str | None": (str, type(None)), "int": (int,), "float": (int, float), "bool": (bool,),
    "dict[str, Any]": (dict,),
}
_TYPE_NAMES = {"str": "a string", "str | None": "a string or null", "int": "an integer", "float": "a number",
               "bool": "true or false", "dict[str, Any]": "an object"}
TRAIN_FIELDS = {f.name for f in fields(TrainConfig)}
_FIELD_TYPES = {f.name: str(f.type) for f in fields(TrainConfig)}


def parse_value(text: str) -> Any:
    """A --set value: a Python literal (3, 0.1, True, (1, 2), 'x') or else the plain string."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def apply_sets(cfg: TrainConfig, pairs: list[str]) -> None:
    """Apply ``KEY=VALUE`` pairs: training settings by name; anything else (or ``model.KEY``) goes to
    the model's config, checked when the model is built."""
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE, got {pair!r}")
        key = key.strip()
        parsed = parse_value(value)
        if key.startswith("model."):
            cfg.model_overrides[key[len("model."):]] = parsed
        elif key in TRAIN_FIELDS and key not in ("model", "data", "model_overrides"):
            current = getattr(cfg, key)
            if _FIELD_TYPES[key] in ("str", "str | None") and not isinstance(parsed, (str, type(None))):
                parsed = value.strip()  # a text setting keeps its text: train_classes=1,2 is not the tuple (1, 2)
            if isinstance(current, float) and isinstance(parsed, int) and not isinstance(parsed, bool):
                parsed = float(parsed)
            setattr(cfg, key, parsed)
        else:
            cfg.model_overrides[key] = parsed

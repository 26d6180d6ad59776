"""The model registry: every architecture in archzoo is a named, documented, buildable variant.

A variant is data: a model class (or factory) plus a frozen config dataclass plus a card that says
where the architecture comes from and what input it takes::

    register_model("resnet18", ResNet, ResNetConfig(block="basic", depths=(2, 2, 2, 2)),
                   family="resnet", paper="Deep Residual Learning ...", year=2015, ...)

``create_model(name, **overrides)`` replaces fields of that config (``num_classes=10``,
``in_channels=1``) and builds the model. Unknown names and bad overrides fail early with a message
that names the problem and the valid choices.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

__all__ = [
    "FlopCount",
    "ModelCard",
    "OverrideError",
    "OverrideValueError",
    "UnknownModelError",
    "count_flops",
    "count_params",
    "create_model",
    "example_input",
    "list_models",
    "model_card",
    "model_macs",
    "register_model",
]


class UnknownModelError(KeyError):
    """No model of that name is registered; the message names the closest ones."""

    def __str__(self) -> str:
        return str(self.args[0])


class OverrideError(TypeError):
    """An override names no field of the model's config; the message lists the valid ones."""


class OverrideValueError(ValueError):
    """An override's value is not valid for the model's config; the message says what is."""


@dataclass(frozen=True)
class ModelCard:
    """What a user needs to know about a registered model before building it.

    ``input_size`` is the default input (without the batch dimension); ``min_input_size`` is the
    smallest input the model accepts. ``num_params`` is the trainable parameter count at the
    default config, computed on the meta device (no memory is allocated). ``reference_params`` is
    the count a reference implementation publishes (``reference`` says which), pinned by tests.
    """

    name: str
    family: str
    task: str
    paper: str
    year: int
    url: str
    input_size: tuple[int, ...]
    min_input_size: tuple[int, ...]
    num_params: int
    config: Any
    notes: str = ""
    small_input: str = ""
    reference_params: int | None = None
    reference: str = ""
    torchvision_name: str | None = None
    tags: tuple[str, ...] = ()
    inputs: str = "real"  # "real": float tensors of input_size; "tokens": integer ids below config.vocab_size;
    # "token_pairs": a (source, target) pair of integer ids below config.src_vocab_size and tgt_vocab_size;
    # "image_label": an (image, class) pair for models conditioned on the class (config.num_classes)


@dataclass
class _Entry:
    builder: Callable[[Any], nn.Module]
    config: Any
    meta: dict[str, Any]
    card: ModelCard | None = None
    from_torchvision: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None


_REGISTRY: dict[str, _Entry] = {}
INPUT_KINDS = ("real", "tokens", "token_pairs", "image_label")
_MODEL_MODULES_LOADED = False


def register_model(
    name: str,
    builder: Callable[[Any], nn.Module],
    config: Any,
    *,
    family: str,
    task: str = "classification",
    paper: str,
    year: int,
    url: str,
    input_size: tuple[int, ...],
    min_input_size: tuple[int, ...] | None = None,
    notes: str = "",
    small_input: str = "",
    reference_params: int | None = None,
    reference: str = "",
    torchvision_name: str | None = None,
    from_torchvision: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None,
    tags: tuple[str, ...] = (),
    inputs: str = "real",
) -> None:
    """Register ``builder(config)`` under ``name``. Registering a name twice raises ``ValueError``.

    ``config`` must be a dataclass instance: its fields are the overrides ``create_model`` accepts.
    ``from_torchvision`` maps a torchvision state dict onto this model's parameter names when they
    differ (None means the names already match). ``inputs`` is "real" (float tensors), "tokens"
    (integer ids below the config's ``vocab_size``), "token_pairs" (a source and a target of ids
    below its ``src_vocab_size`` and ``tgt_vocab_size``) or "image_label" (images and class ids below
    its ``num_classes``, for conditional generators), what :func:`example_input` makes.
    """
    if inputs not in INPUT_KINDS:
        raise ValueError(f"inputs must be one of {', '.join(INPUT_KINDS)}, got {inputs!r}")
    if name in _REGISTRY:
        raise ValueError(f"model {name!r} is already registered; pick another name")
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"config of {name!r} must be a dataclass instance, got {type(config).__name__}")
    meta = dict(
        family=family, task=task, paper=paper, year=year, url=url, input_size=tuple(input_size),
        min_input_size=tuple(min_input_size if min_input_size is not None else input_size), notes=notes,
        small_input=small_input, reference_params=reference_params, reference=reference,
        torchvision_name=torchvision_name, tags=tuple(tags), inputs=inputs,
    )
    _REGISTRY[name] = _Entry(builder, config, meta, from_torchvision=from_torchvision)


def _load_model_modules() -> None:
    """Import every model family so that its variants register themselves (once)."""
    global _MODEL_MODULES_LOADED
    if not _MODEL_MODULES_LOADED:
        _MODEL_MODULES_LOADED = True
        from archzoo import models  # noqa: F401  (imports register the variants)


def _entry(name: str) -> _Entry:
    _load_model_modules()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `archzoo list` for all names"
        raise UnknownModelError(f"unknown model {name!r}{hint}")
    return _REGISTRY[name]


def list_models(pattern: str = "*", *, family: str | None = None, task: str | None = None) -> list[str]:
    """Registered model names matching the glob ``pattern`` (and family/task if given), sorted."""
    _load_model_modules()
    return sorted(
        n for n, e in _REGISTRY.items()
        if fnmatch.fnmatchcase(n, pattern)
        and (family is None or e.meta["family"] == family)
        and (task is None or e.meta["task"] == task)
    )


def list_families() -> list[str]:
    _load_model_modules()
    return sorted({e.meta["family"] for e in _REGISTRY.values()})


def resolve_config(name: str, **overrides: Any) -> Any:
    """The config ``create_model(name, **overrides)`` would build, with overrides checked."""
    entry = _entry(name)
    valid = {f.name for f in dataclasses.fields(entry.config)}
    for key in overrides:
        if key not in valid:
            close = difflib.get_close_matches(key, sorted(valid), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise OverrideError(
                f"{name} has no option {key!r}; {hint}valid options: {', '.join(sorted(valid))}"
            )
    try:
        return dataclasses.replace(entry.config, **overrides)
    except (TypeError, ValueError) as exc:  # the config's own checks, or a value of the wrong type
        raise OverrideValueError(f"{name}: {str(exc).splitlines()[0]}") from None


def create_model(name: str, *, pretrained: str | None = None, **overrides: Any) -> nn.Module:
    """Build the registered model ``name`` with config fields replaced by ``overrides``.

    ``pretrained="torchvision"`` loads torchvision's ImageNet weights (needs torchvision and a
    network). Raises ``KeyError`` for an unknown name (naming the closest ones), ``TypeError`` for
    an unknown override and ``ValueError`` for a bad override value.
    """
    entry = _entry(name)
    cfg = resolve_config(name, **overrides)
    model = entry.builder(cfg)
    if pretrained is not None:
        from archzoo.interop import load_pretrained

        load_pretrained(model, name, pretrained, entry.meta["torchvision_name"], entry.from_torchvision, cfg)
    return model


def model_card(name: str) -> ModelCard:
    """The card of ``name``; the parameter count is computed once, on the meta device."""
    entry = _entry(name)
    if entry.card is None:
        with torch.device("meta"):
            n = count_params(entry.builder(entry.config))
        entry.card = ModelCard(name=name, num_params=n, config=entry.config, **entry.meta)
    return entry.card


def torchvision_converter(name: str) -> Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None:
    return _entry(name).from_torchvision


def count_params(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters (never buffers); only those with ``requires_grad`` unless told otherwise."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


@dataclass(frozen=True)
class FlopCount:
    """Forward-pass cost. ``macs`` counts multiply-adds; ``flops = 2 * macs``.

    Counted by ``torch.utils.flop_counter`` over matrix multiplications, convolutions and attention,
    the convention of torchvision's "GFLOPS" column (which counts multiply-adds). ``by_module`` maps
    a module's qualified name ('' for the whole model) to its MACs.
    """

    macs: int
    flops: int
    by_module: dict[str, int] = field(default_factory=dict, repr=False)


def count_flops(model: nn.Module, *inputs: torch.Tensor) -> FlopCount:
    """Count the forward-pass MACs and FLOPs of ``model(*inputs)`` (no gradients are kept).

    The model runs in eval mode (a training-mode BatchNorm cannot take a batch of one image at a
    1x1 map) and is put back in the mode it was in.
    """
    from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

    def cpu_flash_attention(query: torch.Size, key: torch.Size, value: torch.Size, *args: Any, **kw: Any) -> int:
        return sdpa_flop_count(query, key, value)

    # torch's counter has no formula for the CPU flash-attention kernel; without one, attention
    # computed by F.scaled_dot_product_attention on CPU would count as zero
    mapping = {}
    if hasattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu"):
        mapping[torch.ops.aten._scaled_dot_product_flash_attention_for_cpu] = cpu_flash_attention
    counter = FlopCounterMode(display=False, depth=None, custom_mapping=mapping)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), counter:
            model(*inputs)
    finally:
        model.train(was_training)
    totals = counter.get_flop_counts()
    by_module: dict[str, int] = {}
    root = type(model).__name__
    for mod_name, ops in totals.items():
        flops = sum(ops.values())
        if mod_name == "Global":
            key = ""
        elif mod_name == root:
            continue
        else:
            key = mod_name.split(".", 1)[1] if mod_name.startswith(root + ".") else mod_name
        by_module[key] = flops // 2
    total = by_module.get("", 0)
    return FlopCount(macs=total, flops=2 * total, by_module=by_module)


def example_input(name: str, batch: int = 1, size: tuple[int, ...] | None = None, *,
                  generator: torch.Generator | None = None,
                  **overrides: Any) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """A random input for ``name`` (batch first) of ``size`` (default: its card's input_size): normal
    floats, token ids below the config's ``vocab_size`` for models that read tokens, or a tuple
    (source ids, target ids), both of ``size``, for translation models, or (images, class ids) for
    class-conditional models: call ``model(*inputs)``."""
    card = model_card(name)
    shape = (batch, *(size if size is not None else card.input_size))
    if card.inputs == "tokens":
        vocab = resolve_config(name, **overrides).vocab_size
        return torch.randint(0, vocab, shape, generator=generator)
    if card.inputs == "token_pairs":
        cfg = resolve_config(name, **overrides)
        return (torch.randint(0, cfg.src_vocab_size, shape, generator=generator),
                torch.randint(0, cfg.tgt_vocab_size, shape, generator=generator))
    if card.inputs == "image_label":
        classes = resolve_config(name, **overrides).num_classes
        return torch.randn(shape, generator=generator), torch.randint(0, classes, (batch,), generator=generator)
    return torch.randn(shape, generator=generator)


def model_macs(name: str, input_size: tuple[int, ...] | None = None, **overrides: Any) -> int:
    """Forward MACs of the registered model at ``input_size`` (default: its card's), batch 1.

    Counted on the meta device: no weights are allocated, so the largest models cost nothing.
    """
    x = example_input(name, 1, input_size, **overrides)
    inputs = x if isinstance(x, tuple) else (x,)
    with torch.device("meta"):
        return count_flops(create_model(name, **overrides), *(t.to("meta") for t in inputs)).macs

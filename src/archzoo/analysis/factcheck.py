"""Fact-check the architecture claims commonly quoted about the classic models.

Each claim is data: the model it is about, what it says, the quoted number, and what to measure on
archzoo's own implementation (trainable parameters, weighted layers, or forward MACs at the
model's default input). The verdict compares the two:

- holds: within the claim's own tolerance ("about 60M" tolerates 5%);
- off by N%: the right quantity, but the number is off by more than the tolerance;
- wrong: the number describes another quantity or another model; ``explanation`` says which.

Everything is measured on the meta device, so no memory is spent on weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from archzoo.registry import count_flops, create_model, model_card


def weighted_layers(model: nn.Module) -> int:
    """Convolutions and fully connected layers on the main path (shortcut projections excluded,
    as papers count depth)."""
    return sum(
        1 for name, m in model.named_modules()
        if isinstance(m, (nn.Conv2d, nn.Linear)) and "downsample" not in name and "shortcut" not in name
    )


def conv_and_fc_layers(model: nn.Module) -> tuple[int, int]:
    convs = sum(1 for n, m in model.named_modules() if isinstance(m, nn.Conv2d) and "downsample" not in n)
    fcs = sum(1 for m in model.modules() if isinstance(m, nn.Linear))
    return convs, fcs


@dataclass(frozen=True)
class Claim:
    model: str
    text: str
    quantity: str  # "params", "layers" or "macs"
    quoted: float
    tolerance: float = 0.05
    wrong_because: str = ""  # when the quoted number is known to describe something else


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    measured: float
    verdict: str
    explanation: str


CLAIMS: tuple[Claim, ...] = (
    Claim("lenet5", "LeNet-5 has about 60K parameters", "params", 60e3),
    Claim("alexnet", "AlexNet has 8 layers: 5 convolutional and 3 fully connected", "layers", 8, 0.0),
    Claim("alexnet", "AlexNet has about 60M parameters", "params", 60e6),
    Claim("vgg19", "VGG-19 has 138M parameters", "params", 138e6, 0.01,
          "138M is VGG-16's count (138,357,544); VGG-19 has 3 more 3x3x512x512 convolutions"),
    Claim("resnet152", "ResNet-152 has 152 layers", "layers", 152, 0.0),
    Claim("resnet152", "ResNet-152 has 11.3M parameters", "params", 11.3e6, 0.05,
          "11.3 billion is the paper's FLOPs of ResNet-152 (multiply-adds at 224x224, Table 1), not a "
          "parameter count; ResNet-18 is the one with about 11.7M parameters"),
    Claim("resnet152", "ResNet-152 takes 11.3 billion FLOPs (multiply-adds) at 224x224", "macs", 11.3e9),
    Claim("densenet201", "DenseNet-201 has 20M parameters", "params", 20e6),
    Claim("efficientnet_b7", "EfficientNet-B7 has 66M parameters", "params", 66e6),
    Claim("squeezenet1_0", "SqueezeNet has 1.25M parameters (50x fewer than AlexNet's 60M)", "params", 1.25e6),
)


def _measure(model_name: str, quantity: str) -> float:
    card = model_card(model_name)
    if quantity == "params":
        return float(card.num_params)
    with torch.device("meta"):
        model = create_model(model_name)
        if quantity == "layers":
            return float(weighted_layers(model))
        if quantity == "macs":
            return float(count_flops(model, torch.empty(1, *card.input_size)).macs)
    raise ValueError(f"unknown quantity {quantity!r}")


def _fmt(quantity: str, value: float) -> str:
    if quantity == "layers":
        return f"{value:.0f}"
    if value >= 1e9:
        return f"{value / 1e9:.2f}G"
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    return f"{value / 1e3:.1f}K"


def check(claim: Claim, measure: Callable[[str, str], float] = _measure) -> Verdict:
    measured = measure(claim.model, claim.quantity)
    off = (measured - claim.quoted) / claim.quoted
    if abs(off) <= claim.tolerance + 1e-12:
        verdict, why = "holds", f"measured {_fmt(claim.quantity, measured)}"
    elif claim.wrong_because:
        verdict = f"wrong (off by {100 * off:+.1f}%)"
        why = f"measured {_fmt(claim.quantity, measured)}; {claim.wrong_because}"
    else:
        verdict, why = f"off by {100 * off:+.1f}%", f"measured {_fmt(claim.quantity, measured)}"
    if claim.quantity == "layers" and claim.model == "alexnet":
        with torch.device("meta"):
            convs, fcs = conv_and_fc_layers(create_model("alexnet"))
        why += f" ({convs} conv + {fcs} fully connected)"
    if claim.model == "squeezenet1_0":
        ratio = model_card("alexnet").num_params / measured
        why += f"; AlexNet / SqueezeNet = {ratio:.1f}x"
    return Verdict(claim, measured, verdict, why)


def factcheck() -> list[Verdict]:
    return [check(c) for c in CLAIMS]


def markdown(verdicts: list[Verdict]) -> str:
    lines = [
        "# Fact-check: the numbers quoted about the classic architectures\n",
        "Generated by `archzoo factcheck --markdown > docs/factcheck.md`: every measured figure is archzoo's "
        "own implementation at the default configuration (1000 classes, 224x224 for ImageNet models). "
        "Layers count convolutions and fully connected layers on the main path (shortcut projections "
        "excluded, as the papers count depth); MACs are multiply-adds of one forward pass.\n",
        "| claim | model | quoted | measured | verdict | note |",
        "|---|---|---:|---:|---|---|",
    ]
    for v in verdicts:
        c = v.claim
        lines.append(f"| {c.text} | `{c.model}` | {_fmt(c.quantity, c.quoted)} | {_fmt(c.quantity, v.measured)} | "
                     f"{v.verdict} | {v.explanation} |")
    return "\n".join(lines) + "\n"

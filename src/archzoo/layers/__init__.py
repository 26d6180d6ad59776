"""Reusable blocks shared by several model families (each block lives here once)."""

from archzoo.layers.activations import ACTIVATIONS, get_activation
from archzoo.layers.conv import ConvNormAct, DepthwiseSeparable, SqueezeExcite, make_divisible
from archzoo.layers.drop import Dropout, DropPath, attention_with_dropout, drop_path, dropout, dropout_mask
from archzoo.layers.inputs import check_image_input
from archzoo.layers.inverted_residual import InvertedResidual
from archzoo.layers.norm import LayerNorm2d
from archzoo.layers.transformer import Mlp, Permute, merge_heads, split_heads

__all__ = [
    "ACTIVATIONS",
    "ConvNormAct",
    "DepthwiseSeparable",
    "DropPath",
    "Dropout",
    "InvertedResidual",
    "LayerNorm2d",
    "Mlp",
    "Permute",
    "SqueezeExcite",
    "attention_with_dropout",
    "check_image_input",
    "drop_path",
    "dropout",
    "dropout_mask",
    "get_activation",
    "make_divisible",
    "merge_heads",
    "split_heads",
]

"""The seed equations, written out: reference implementations, each proven against torch.

``archzoo.nn.functional`` holds the functions (activations, convolution, pooling, normalisation,
dropout, attention, losses); this package holds the modules, with torch.nn's constructor
arguments, parameter names and forward signatures, so weights and code move both ways.
docs/equations.md maps each equation to its function and to the test that proves it.
"""

from archzoo.nn import functional
from archzoo.nn.activation import PReLU
from archzoo.nn.attention import (
    MultiHeadAttention,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
    causal_mask,
    sinusoidal_positional_encoding,
)
from archzoo.nn.backprop import HandMLP
from archzoo.nn.norm import BatchNorm1d, BatchNorm2d, Dropout, LayerNorm
from archzoo.nn.recurrent import (
    GRU,
    LSTM,
    RNN,
    GRUCell,
    LSTMCell,
    RNNCell,
    clip_grad_norm_,
    detach_state,
    train_tbptt,
)

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "BatchNorm1d",
    "BatchNorm2d",
    "Dropout",
    "GRUCell",
    "HandMLP",
    "LSTMCell",
    "LayerNorm",
    "MultiHeadAttention",
    "PReLU",
    "RNNCell",
    "TransformerDecoderLayer",
    "TransformerEncoderLayer",
    "causal_mask",
    "clip_grad_norm_",
    "detach_state",
    "functional",
    "sinusoidal_positional_encoding",
    "train_tbptt",
]

"""Multi-head attention, sinusoidal positions and the Transformer's encoder and decoder layers.

Paper: Vaswani et al., "Attention Is All You Need", 2017. https://arxiv.org/abs/1706.03762

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V                       (eq. 1)
    MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O,
        head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)
    PE(pos, 2i) = sin(pos / 10000^(2i/d)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/d))   (sec. 3.5)
    post-norm (the paper): x = LayerNorm(x + Sublayer(x));  pre-norm: x = x + Sublayer(LayerNorm(x))

Parameter layout and masks follow torch.nn.MultiheadAttention / TransformerEncoderLayer /
TransformerDecoderLayer so state dicts load either way: ``in_proj_weight`` (3E, E) stacks W^Q, W^K,
W^V; ``out_proj`` is W^O. In these modules a bool ``attn_mask`` or ``key_padding_mask`` is True
where attention is NOT allowed (torch.nn's convention, the opposite of
F.scaled_dot_product_attention's).

Inside MultiHeadAttention the softmax is torch.softmax: the same equation as
:func:`archzoo.nn.functional.softmax` (proven there), in one fused pass over the (L, S) scores
instead of five. The module evaluates eq. 1 a block of heads at a time (about 2 MB of scores per
block), so the scores, their softmax and its gradient stay in cache and reuse one allocation instead
of page-faulting a fresh (B*heads, L, S) tensor per op. Together these keep it within torch's speed.

Deviations: no kdim/vdim, add_bias_kv or add_zero_attn; a query whose keys are all masked gets a
zero output (torch.nn.MultiheadAttention gives NaN there); ``is_causal`` without ``attn_mask``
builds the causal mask instead of raising.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from archzoo.nn import functional as F
from archzoo.nn.norm import Dropout, LayerNorm

__all__ = [
    "MultiHeadAttention",
    "TransformerDecoderLayer",
    "TransformerEncoderLayer",
    "causal_mask",
    "sinusoidal_positional_encoding",
]


def sinusoidal_positional_encoding(length: int, dim: int) -> Tensor:
    """PE (length, dim): PE[pos, 2i] = sin(pos / 10000^(2i/dim)), PE[pos, 2i+1] = cos(same angle).

    Each pair of dims is a rotation at its own frequency, so PE[pos + k] is a fixed linear map of
    PE[pos] for every pos (the reason the paper gives). An odd ``dim`` drops the last cosine.
    """
    pos = torch.arange(length, dtype=torch.float64).unsqueeze(1)  # (length, 1)
    inv_freq = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float64) / dim)  # (ceil(dim/2),)
    angle = pos * inv_freq  # (length, ceil(dim/2))
    pe = torch.zeros(length, dim, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : dim // 2])
    return pe.to(torch.get_default_dtype())


def causal_mask(length: int, device: torch.device | None = None) -> Tensor:
    """(length, length) bool mask, True above the diagonal: position i may not attend to j > i."""
    return torch.ones(length, length, dtype=torch.bool, device=device).triu(1)


def _additive(mask: Tensor | None, dtype: torch.dtype) -> Tensor | None:
    """A torch.nn-style mask (bool True = blocked, or float added) as a float mask to add."""
    if mask is None or mask.dtype != torch.bool:
        return None if mask is None else mask.to(dtype)
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, float("-inf"))


# Bytes of (L, S) scores computed per block of heads: small enough to stay in cache between the
# matmul, the softmax and the matmul with V, and for the allocator to reuse the same memory block
# after block (a 67 MB score tensor costs a fresh page-faulted allocation per op; measured, see
# docs/equations.md "Speed").
SCORE_BLOCK_BYTES = 2**21


def _attend(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, p: float, need_weights: bool
) -> tuple[Tensor, Tensor | None]:
    """softmax(q k^T / sqrt(d_k) + mask) v over (N, L, d) heads, N = B*heads, in blocks of heads.

    mask: additive (N or 1, L, S), -inf = blocked, or None. Returns (out (N, L, d_v),
    weights (N, L, S) or None). Every block is eq. 1 on its own heads; the blocks only bound how much
    of the (N, L, S) score tensor is live between two ops.
    """
    N, L, S = q.shape[0], q.shape[1], k.shape[1]
    step = max(1, SCORE_BLOCK_BYTES // (L * S * q.element_size()))
    scale = 1.0 / math.sqrt(q.shape[-1])
    # a query with every key blocked gets zeros, where a plain softmax gives 0/0
    blocked = mask is not None and bool(torch.isneginf(mask).all(dim=-1).any())
    # split (not q[i:j]): its backward concatenates the blocks' gradients once, where each slice's
    # backward would write a zero tensor of the full size
    n_blocks = -(-N // step)
    masks = [mask] * n_blocks if mask is None or mask.shape[0] == 1 else list(mask.split(step))  # (n or 1, L, S)
    outs, weights = [], []
    for qi, ki, vi, mi in zip(q.split(step), k.split(step), v.split(step), masks, strict=True):  # (n, T, d) views
        if mi is None:
            scores = (qi * scale) @ ki.transpose(1, 2)  # (n, L, S); scaling q is cheaper than scaling scores
        else:
            scores = torch.baddbmm(mi, qi, ki.transpose(1, 2), alpha=scale)  # mask + scale q k^T in one kernel
        w = torch.softmax(scores, dim=-1)  # (n, L, S)
        if blocked:  # rows with every key blocked, from this block's own mask
            w = w.masked_fill(torch.isneginf(mi).all(dim=-1, keepdim=True), 0.0)
        outs.append(F.dropout(w, p, training=p > 0) @ vi)  # (n, L, d_v)
        if need_weights:
            weights.append(w)
    if len(outs) == 1:
        return outs[0], (weights[0] if need_weights else None)
    return torch.cat(outs), (torch.cat(weights) if need_weights else None)  # (N, L, d_v), (N, L, S)


class MultiHeadAttention(nn.Module):
    """Multi-head attention with torch.nn.MultiheadAttention's parameters, arguments and outputs.

    forward(query (L, B, E), key (S, B, E), value (S, B, E)) -> (output (L, B, E),
    weights (B, L, S) averaged over heads, or (B, heads, L, S), or None); batch_first swaps L/S and B.
    """

    def __init__(
        self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True, batch_first: bool = False
    ) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))  # [W^Q; W^K; W^V]
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim)) if bias else None
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)  # W^O
        nn.init.xavier_uniform_(self.in_proj_weight)
        if bias:
            nn.init.zeros_(self.out_proj.bias)

    def _heads(self, x: Tensor, B: int) -> Tensor:
        return x.reshape(x.shape[0], B * self.num_heads, self.head_dim).transpose(0, 1)  # (B*heads, T, head_dim)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        self_attention = query is key and key is value  # one fused projection then
        unbatched = query.dim() == 2
        if unbatched:  # (L, E)
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))  # (T, B, E)
        L, B, E = query.shape
        S = key.shape[0]
        if self.embed_dim != E:
            raise ValueError(f"MultiHeadAttention expects embed_dim {self.embed_dim}, got {tuple(query.shape)}")

        # Q = query W^Q + b^Q etc.: one matmul when query, key and value are the same tensor
        w, b = self.in_proj_weight, self.in_proj_bias
        if self_attention:
            q, k, v = torch.nn.functional.linear(query, w, b).chunk(3, dim=-1)  # (T, B, E) each
        else:
            bq, bk, bv = (None, None, None) if b is None else b.chunk(3)
            wq, wk, wv = w.chunk(3)
            q = torch.nn.functional.linear(query, wq, bq)
            k = torch.nn.functional.linear(key, wk, bk)
            v = torch.nn.functional.linear(value, wv, bv)
        q, k, v = self._heads(q, B), self._heads(k, B), self._heads(v, B)  # (B*heads, T, head_dim)

        # one additive mask (B*heads or 1, L, S): attn_mask, is_causal and key padding, -inf = blocked
        mask = _additive(attn_mask, q.dtype)
        if is_causal and attn_mask is None:
            mask = _additive(causal_mask(L, q.device), q.dtype)
        if mask is not None and mask.dim() == 2:
            mask = mask.unsqueeze(0)  # (1, L, S)
        if key_padding_mask is not None:
            pad = _additive(key_padding_mask, q.dtype).reshape(B, 1, 1, S)  # (B, 1, 1, S)
            pad = pad.expand(B, self.num_heads, 1, S).reshape(B * self.num_heads, 1, S)  # (B*heads, 1, S)
            mask = pad if mask is None else mask + pad

        # softmax(Q K^T / sqrt(d_k) + M) V, eq. 1, a block of heads at a time
        p = self.dropout if self.training else 0.0
        out, weights = _attend(q, k, v, mask, p, need_weights)  # (B*heads, L, head_dim), (B*heads, L, S)
        out = out.transpose(0, 1).reshape(L, B, E)  # (L, B, E): heads concatenated
        out = self.out_proj(out)
        if weights is not None:
            weights = weights.reshape(B, self.num_heads, L, S)  # (B, heads, L, S)
            if average_attn_weights:
                weights = weights.mean(dim=1)  # (B, L, S)
            if unbatched:
                weights = weights.squeeze(0)
        if unbatched:
            return out.squeeze(1), weights
        return (out.transpose(0, 1) if self.batch_first else out), weights


_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def _activation(name: str) -> Callable[[Tensor], Tensor]:
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of: {', '.join(_ACTIVATIONS)}") from None


class TransformerEncoderLayer(nn.Module):
    """Self-attention + position-wise feed-forward, each in a residual branch with LayerNorm.

    post-norm (norm_first=False, the paper): x = norm1(x + SA(x)); x = norm2(x + FF(x))
    pre-norm  (norm_first=True):             x = x + SA(norm1(x)); x = x + FF(norm2(x))
    FF(x) = linear2(dropout(act(linear1(x)))). Submodule names match torch.nn.TransformerEncoderLayer.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first)
        self.linear1 = nn.Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)
        self.activation = _activation(activation)

    def _sa(self, x: Tensor, mask: Tensor | None, pad: Tensor | None, is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=pad, need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff(self.norm2(x))
        x = self.norm1(x + self._sa(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff(x))


class TransformerDecoderLayer(nn.Module):
    """Masked self-attention, cross-attention over the encoder's memory, feed-forward; each residual.

    post-norm: x = norm1(x + SA(x)); x = norm2(x + MHA(x, mem)); x = norm3(x + FF(x))
    pre-norm:  x = x + SA(norm1(x)); x = x + MHA(norm2(x), mem); x = x + FF(norm3(x))
    Submodule names match torch.nn.TransformerDecoderLayer.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first)
        self.multihead_attn = MultiHeadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first)
        self.linear1 = nn.Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1, self.dropout2, self.dropout3 = Dropout(dropout), Dropout(dropout), Dropout(dropout)
        self.activation = _activation(activation)

    def _sa(self, x: Tensor, mask: Tensor | None, pad: Tensor | None, is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=pad, need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _mha(self, x: Tensor, mem: Tensor, mask: Tensor | None, pad: Tensor | None, is_causal: bool) -> Tensor:
        x = self.multihead_attn(
            x, mem, mem, attn_mask=mask, key_padding_mask=pad, need_weights=False, is_causal=is_causal
        )[0]
        return self.dropout2(x)

    def _ff(self, x: Tensor) -> Tensor:
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._sa(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            return x + self._ff(self.norm3(x))
        x = self.norm1(x + self._sa(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self.norm3(x + self._ff(x))

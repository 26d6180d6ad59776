"""The Transformer for translation: an encoder-decoder built of attention alone.

Paper: A. Vaswani, N. Shazeer, N. Parmar, J. Uszkoreit, L. Jones, A. N. Gomez, Ł. Kaiser, I. Polosukhin,
"Attention Is All You Need", NeurIPS 2017. https://arxiv.org/abs/1706.03762

    x_0 = dropout(sqrt(d) E_src[x] + PE),  y_0 = dropout(sqrt(d) E_tgt[y] + PE)      (sec. 3.4, 3.5)
    encoder layer:  x = LN(x + SA(x));  x = LN(x + FF(x))                            (sec. 3.1)
    decoder layer:  y = LN(y + SA_causal(y));  y = LN(y + MHA(y, x_N));  y = LN(y + FF(y))
    MHA(Q, K, V) = Concat(head_1, ..., head_h) W^O,
        head_i = softmax(Q W_i^Q (K W_i^K)^T / sqrt(d_k) + M) V W_i^V                 (eq. 1)
    FF(x) = max(0, x W_1 + b_1) W_2 + b_2                                             (eq. 2)
    p(y_t | y_<t, x) = softmax(y_N W_out)

M is -inf where attention is not allowed: at source padding (encoder self-attention and the
decoder's attention over the source) and at later positions (the decoder's self-attention), so
neither source padding nor anything after a target position changes its output. PE is
archzoo.nn's ``sinusoidal_positional_encoding`` for ``max_len`` positions. Each sub-layer's output
passes a dropout before its residual sum (sec. 5.4). ``norm_first=True`` moves each LayerNorm in
front of its sub-layer, x = x + SA(LN(x)), and adds a final LayerNorm to the encoder's and the
decoder's outputs (pre-norm: Xiong et al. 2020, https://arxiv.org/abs/2002.04745), which trains
without a warm-up more readily.

Attention is computed by ``F.scaled_dot_product_attention`` (``attention="fused"``; in training on
the CPU, archzoo.layers' ``attention_with_dropout`` and ``Dropout``, whose dropout masks cost a
quarter of ``bernoulli_``'s), or with
``attention="reference"`` by archzoo.nn's written-out eq. 1
(``archzoo.nn.functional.scaled_dot_product_attention``) with archzoo.nn's LayerNorm, Dropout and
ReLU: the same network and parameters, so a state dict loads into either and a reader can step
through the equations (a test holds the two to 1e-5). Parameter names are torch.nn.Transformer's
(``encoder.layers.0.self_attn.in_proj_weight`` = [W^Q; W^K; W^V], ``out_proj`` = W^O, ``linear1``,
``linear2``, ``norm1``..``norm3``), so the encoder and decoder weights load into it too.

The translation interface (the same as archzoo.models.seq2seq's): ``forward(src, tgt_in,
src_lengths)`` with teacher forcing; ``encode`` runs the encoder once and projects its output to
every decoder layer's cross-attention keys and values; ``decode_step(memory, tokens, state, step)``
embeds one token at position ``step``, and each decoder layer appends its key and value to its cache
(``state``, grown by one position per step) and attends from the new position over the cache;
``cross_attention`` gives the last decoder layer's weights over the source, every head.

Deviations from the paper:

- Dropout also acts on the attention weights and after the ReLU (tensor2tensor's and
  torch.nn.Transformer's), at the same rate as the residual dropout.
- Initialisation, which the paper does not give: Linear and attention weights Xavier-uniform
  (torch.nn.Transformer's), biases zero, embeddings N(0, 1/d) so that sqrt(d) E has rows of unit
  variance, as large as the positions (tensor2tensor's and fairseq's).
- The output projection has no bias (tensor2tensor's and fairseq's; it can be the embedding).
- The paper shares one matrix between both embeddings and the output projection over a joint BPE
  vocabulary: ``share_embeddings=True`` does that and needs vocabularies of one size;
  ``tie_output=True`` shares only the target embedding with the output projection (Press & Wolf
  2017), for vocabularies of their own. transformer_base ties the output; transformer_small shares
  nothing (bentrevett/pytorch-seq2seq's notebook 6, whose sizes it takes).
- Positions end at ``max_len`` (256): longer sources or targets are an error.
- Label smoothing and the warm-up learning-rate schedule belong to the task, not the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo import nn as ref
from archzoo.layers.drop import Dropout, attention_with_dropout
from archzoo.layers.sequence import (
    check_decode_step,
    check_pair_input,
    check_token_input,
    check_vocabularies,
    length_mask,
)
from archzoo.layers.transformer import merge_heads, split_heads
from archzoo.registry import register_model


@dataclass(frozen=True)
class Kernels:
    """The operations a layer is built from: torch's fused kernels or archzoo.nn's written-out equations."""

    attention: Callable[..., Tensor]  # F.scaled_dot_product_attention's signature
    norm: Callable[[int], nn.Module]
    dropout: Callable[[float], nn.Module]
    relu: Callable[[Tensor], Tensor]


ATTENTIONS = {
    "fused": Kernels(attention_with_dropout, nn.LayerNorm, Dropout, F.relu),
    "reference": Kernels(ref.functional.scaled_dot_product_attention, ref.LayerNorm, ref.Dropout,
                         ref.functional.relu),
}


@dataclass(frozen=True)
class TransformerConfig:
    src_vocab_size: int = 7853
    tgt_vocab_size: int = 5893
    pad_id: int = 0
    bos_id: int = 2
    eos_id: int = 3
    d_model: int = 512
    num_heads: int = 8
    num_encoder_layers: int = 6
    num_decoder_layers: int = 6
    dim_feedforward: int = 2048
    dropout: float = 0.1
    max_len: int = 256  # positions of the source and of the target
    norm_first: bool = False  # False: post-norm (the paper); True: pre-norm with final LayerNorms
    share_embeddings: bool = False  # one matrix for source, target and output (vocabularies of one size)
    tie_output: bool = False  # the target embedding is the output projection
    attention: str = "fused"  # fused (F.scaled_dot_product_attention) | reference (archzoo.nn's equations)

    def __post_init__(self) -> None:
        check_vocabularies(self.src_vocab_size, self.tgt_vocab_size, self.pad_id, self.bos_id, self.eos_id)
        sizes = dict(d_model=self.d_model, num_heads=self.num_heads, num_encoder_layers=self.num_encoder_layers,
                     num_decoder_layers=self.num_decoder_layers, dim_feedforward=self.dim_feedforward,
                     max_len=self.max_len)
        for key, value in sizes.items():
            if value < 1:
                raise ValueError(f"{key} must be positive, got {value}")
        if self.d_model % self.num_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by num_heads={self.num_heads}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.attention not in ATTENTIONS:
            raise ValueError(f"unknown attention {self.attention!r}; choose one of: {', '.join(ATTENTIONS)}")
        if self.share_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise ValueError(f"share_embeddings needs one vocabulary for source and target, got src_vocab_size="
                             f"{self.src_vocab_size} and tgt_vocab_size={self.tgt_vocab_size}; use tie_output=True "
                             "to share only the target embedding with the output projection")


class Attention(nn.Module):
    """Multi-head attention with torch.nn.MultiheadAttention's parameters: ``in_proj_weight`` (3d, d) stacks
    W^Q, W^K, W^V, ``out_proj`` is W^O. The callers project (``qkv``, ``q``, ``kv``), so keys and values can
    be cached, then ``attend``."""

    def __init__(self, d_model: int, num_heads: int, dropout: float, kernels: Kernels) -> None:
        super().__init__()
        self.num_heads, self.dropout, self.kernel = num_heads, dropout, kernels.attention
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d_model, d_model))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d_model))
        self.out_proj = nn.Linear(d_model, d_model)

    def _heads(self, x: Tensor) -> Tensor:
        b, t, d = x.shape
        return x.view(b, t, self.num_heads, d // self.num_heads).transpose(1, 2)  # (B, heads, T, head_dim)

    def qkv(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x (B, T, d) -> queries, keys, values (B, heads, T, head_dim) each: one product."""
        return split_heads(F.linear(x, self.in_proj_weight, self.in_proj_bias), self.num_heads)

    def q(self, x: Tensor) -> Tensor:
        """x (B, T, d) -> queries (B, heads, T, head_dim)."""
        d = x.shape[-1]
        return self._heads(F.linear(x, self.in_proj_weight[:d], self.in_proj_bias[:d]))

    def kv(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x (B, S, d) -> keys, values (B, heads, S, head_dim): one product."""
        d = x.shape[-1]
        k, v = F.linear(x, self.in_proj_weight[d:], self.in_proj_bias[d:]).chunk(2, dim=-1)  # (B, S, d) each
        return self._heads(k), self._heads(v)

    def attend(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, is_causal: bool = False) -> Tensor:
        """Eq. 1 for every head, heads concatenated, times W^O: (B, T, d). ``mask`` is True where a query may
        attend (F.scaled_dot_product_attention's convention), broadcast to (B, heads, T, S)."""
        p = self.dropout if self.training else 0.0
        return self.out_proj(merge_heads(self.kernel(q, k, v, attn_mask=mask, dropout_p=p, is_causal=is_causal)))

    @staticmethod
    def weights(q: Tensor, k: Tensor, mask: Tensor) -> Tensor:
        """softmax(Q K^T / sqrt(d_k) + M) (B, heads, T, S): what ``attend`` averages the values with."""
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, heads, T, S)
        return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


class EncoderLayer(nn.Module):
    """x = LN(x + SA(x)); x = LN(x + FF(x)), or pre-norm x = x + SA(LN(x)); x = x + FF(LN(x))."""

    def __init__(self, cfg: TransformerConfig, kernels: Kernels) -> None:
        super().__init__()
        d, p = cfg.d_model, cfg.dropout
        self.norm_first, self.relu = cfg.norm_first, kernels.relu
        self.self_attn = Attention(d, cfg.num_heads, p, kernels)
        self.linear1, self.linear2 = nn.Linear(d, cfg.dim_feedforward), nn.Linear(cfg.dim_feedforward, d)
        self.norm1, self.norm2 = kernels.norm(d), kernels.norm(d)
        self.dropout, self.dropout1, self.dropout2 = kernels.dropout(p), kernels.dropout(p), kernels.dropout(p)

    def _sa(self, x: Tensor, mask: Tensor) -> Tensor:
        return self.dropout1(self.self_attn.attend(*self.self_attn.qkv(x), mask=mask))

    def _ff(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.relu(self.linear1(x)))))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """x (B, S, d), mask (B, 1, 1, S) True at real source positions -> (B, S, d)."""
        if self.norm_first:
            x = x + self._sa(self.norm1(x), mask)
            return x + self._ff(self.norm2(x))
        x = self.norm1(x + self._sa(x, mask))
        return self.norm2(x + self._ff(x))


class DecoderLayer(nn.Module):
    """y = LN(y + SA_causal(y)); y = LN(y + MHA(y, memory)); y = LN(y + FF(y)), or the pre-norm order."""

    def __init__(self, cfg: TransformerConfig, kernels: Kernels) -> None:
        super().__init__()
        d, p = cfg.d_model, cfg.dropout
        self.norm_first, self.relu = cfg.norm_first, kernels.relu
        self.self_attn = Attention(d, cfg.num_heads, p, kernels)
        self.multihead_attn = Attention(d, cfg.num_heads, p, kernels)
        self.linear1, self.linear2 = nn.Linear(d, cfg.dim_feedforward), nn.Linear(cfg.dim_feedforward, d)
        self.norm1, self.norm2, self.norm3 = kernels.norm(d), kernels.norm(d), kernels.norm(d)
        self.dropout = kernels.dropout(p)
        self.dropout1, self.dropout2, self.dropout3 = kernels.dropout(p), kernels.dropout(p), kernels.dropout(p)

    def forward(self, y: Tensor, cross: tuple[Tensor, Tensor], mask: Tensor, past: tuple[Tensor, Tensor] | None = None,
                need_weights: bool = False) -> tuple[Tensor, tuple[Tensor, Tensor], Tensor | None]:
        """y (B, T, d); cross: the source's keys and values (B, heads, S, head_dim); mask (B, 1, 1, S) True at
        real source positions; past: this layer's cached self-attention keys and values, for one new position
        (T = 1) that sees them all.

        Returns (y (B, T, d), the self-attention keys and values of every position so far, the attention
        weights over the source (B, heads, T, S) when ``need_weights``, else None).
        """
        h = self.norm1(y) if self.norm_first else y
        q, k, v = self.self_attn.qkv(h)  # (B, heads, T, head_dim)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)  # (B, heads, T_past + 1, head_dim)
        a = self.dropout1(self.self_attn.attend(q, k, v, is_causal=past is None))
        y = y + a if self.norm_first else self.norm1(y + a)

        h = self.norm2(y) if self.norm_first else y
        q = self.multihead_attn.q(h)
        a = self.dropout2(self.multihead_attn.attend(q, *cross, mask=mask))
        weights = self.multihead_attn.weights(q, cross[0], mask) if need_weights else None
        y = y + a if self.norm_first else self.norm2(y + a)

        h = self.norm3(y) if self.norm_first else y
        a = self.dropout3(self.linear2(self.dropout(self.relu(self.linear1(h)))))
        y = y + a if self.norm_first else self.norm3(y + a)
        return y, (k, v), weights


class Stack(nn.Module):
    """``layers`` and, for pre-norm, the final LayerNorm ``norm`` (torch.nn.TransformerEncoder's names)."""

    def __init__(self, layers: list[nn.Module], norm: nn.Module | None) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.norm = norm

    def finish(self, x: Tensor) -> Tensor:
        return x if self.norm is None else self.norm(x)


class Transformer(nn.Module):
    """Source ids (B, S) and target inputs (B, T) -> logits (B, T, tgt_vocab_size)."""

    name = "transformer"

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        kernels = ATTENTIONS[cfg.attention]
        d = cfg.d_model
        self.src_embedding = nn.Embedding(cfg.src_vocab_size, d)
        self.tgt_embedding = self.src_embedding if cfg.share_embeddings else nn.Embedding(cfg.tgt_vocab_size, d)
        self.register_buffer("positions", ref.sinusoidal_positional_encoding(cfg.max_len, d),
                             persistent=False)  # (max_len, d)
        self.dropout = kernels.dropout(cfg.dropout)
        final = kernels.norm(d) if cfg.norm_first else None
        self.encoder = Stack([EncoderLayer(cfg, kernels) for _ in range(cfg.num_encoder_layers)], final)
        final = kernels.norm(d) if cfg.norm_first else None
        self.decoder = Stack([DecoderLayer(cfg, kernels) for _ in range(cfg.num_decoder_layers)], final)
        self.output = nn.Linear(d, cfg.tgt_vocab_size, bias=False)
        self._init_weights()
        if cfg.share_embeddings or cfg.tie_output:
            self.output.weight = self.tgt_embedding.weight

    def _init_weights(self) -> None:
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        for m in self.modules():  # LayerNorms keep their ones and zeros, attention its zero in_proj_bias
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, std=self.cfg.d_model**-0.5)

    def _embed(self, embedding: nn.Embedding, ids: Tensor, start: int) -> Tensor:
        """dropout(sqrt(d) E[ids] + PE) for the positions start, start + 1, ...: (B, T, d)."""
        end = start + ids.shape[1]
        if end > self.cfg.max_len:
            raise ValueError(f"{self.name} has positions for max_len={self.cfg.max_len} tokens, got {end}; "
                             "build it with a larger max_len")
        return self.dropout(embedding(ids) * math.sqrt(self.cfg.d_model) + self.positions[start:end])

    def encode(self, src: Tensor, src_lengths: Tensor | None = None) -> dict[str, Tensor]:
        """{"real": (B, S) bool, "cross_key.{i}", "cross_value.{i}": (B, heads, S, head_dim) for decoder layer i}."""
        lengths = check_token_input(self.name, src, src_lengths)
        real = length_mask(lengths.to(src.device), src.shape[1])  # (B, S)
        mask = real[:, None, None]  # (B, 1, 1, S)
        x = self._embed(self.src_embedding, src, 0)
        for layer in self.encoder.layers:
            x = layer(x, mask)
        x = self.encoder.finish(x)
        memory = {"real": real}
        for i, layer in enumerate(self.decoder.layers):  # each layer's keys and values of the source, once
            memory[f"cross_key.{i}"], memory[f"cross_value.{i}"] = layer.multihead_attn.kv(x)
        return memory

    def _decode(self, memory: dict[str, Tensor], tgt_in: Tensor, need_weights: bool = False
                ) -> tuple[Tensor, Tensor | None]:
        """Every target position at once (causal): (logits (B, T, V), the last layer's weights or None)."""
        y, mask, weights = self._embed(self.tgt_embedding, tgt_in, 0), memory["real"][:, None, None], None
        last = len(self.decoder.layers) - 1
        for i, layer in enumerate(self.decoder.layers):
            cross = memory[f"cross_key.{i}"], memory[f"cross_value.{i}"]
            y, _, weights = layer(y, cross, mask, need_weights=need_weights and i == last)
        return self.output(self.decoder.finish(y)), weights

    def forward(self, src: Tensor, tgt_in: Tensor, src_lengths: Tensor | None = None) -> Tensor:
        check_pair_input(self.name, src, tgt_in, src_lengths)
        return self._decode(self.encode(src, src_lengths), tgt_in)[0]

    def decode_step(self, memory: dict[str, Tensor], tokens: Tensor, state: dict[str, Tensor] | None,
                    step: int) -> tuple[Tensor, dict[str, Tensor]]:
        """One decoder step at position ``step``: previous tokens (B,) -> (logits (B, V), the state
        {"self_key.{i}", "self_value.{i}": (B, heads, step + 1, head_dim)}, every layer's cache grown by one)."""
        check_decode_step(self.name, tokens, state, step)
        if state is not None and state["self_key.0"].shape[2] != step:
            raise ValueError(f"{self.name}.decode_step got step {step} with a cache of "
                             f"{state['self_key.0'].shape[2]} positions; pass the state of step {step - 1}")
        y, mask, new = self._embed(self.tgt_embedding, tokens[:, None], step), memory["real"][:, None, None], {}
        for i, layer in enumerate(self.decoder.layers):
            past = None if state is None else (state[f"self_key.{i}"], state[f"self_value.{i}"])
            cross = memory[f"cross_key.{i}"], memory[f"cross_value.{i}"]
            y, (new[f"self_key.{i}"], new[f"self_value.{i}"]), _ = layer(y, cross, mask, past)
        return self.output(self.decoder.finish(y))[:, 0], new

    def cross_attention(self, src: Tensor, tgt_in: Tensor, src_lengths: Tensor | None = None) -> Tensor:
        """The last decoder layer's weights over the source (B, heads, T, S): each row sums to 1 over the real
        source positions and is 0 on padding."""
        check_pair_input(self.name, src, tgt_in, src_lengths)
        return self._decode(self.encode(src, src_lengths), tgt_in, need_weights=True)[1]


def _register(name: str, cfg: TransformerConfig, notes: str) -> None:
    register_model(name, Transformer, cfg, family="transformer", task="translation",
                   paper="Attention Is All You Need", year=2017, url="https://arxiv.org/abs/1706.03762",
                   input_size=(32,), min_input_size=(1,), inputs="token_pairs",
                   small_input="sources and targets of 1 to max_len tokens", notes=notes)


# bentrevett/pytorch-seq2seq's notebook 6 sizes, with the paper's sinusoidal positions
_register("transformer_small", TransformerConfig(d_model=256, num_heads=8, num_encoder_layers=3, num_decoder_layers=3,
                                                 dim_feedforward=512, dropout=0.1),
          "3 + 3 post-norm layers, d_model 256, 8 heads, feed-forward 512, dropout 0.1, nothing shared; "
          "8,981,248 parameters at 7,853 source and 5,893 target words (Multi30k)")
# the paper's base model (Table 3): 6 + 6 layers, 512 wide, 8 heads, 2048 feed-forward, dropout 0.1
_register("transformer_base", TransformerConfig(tie_output=True),
          "the paper's base model: 6 + 6 post-norm layers, d_model 512, 8 heads, feed-forward 2048, dropout 0.1, "
          "target embedding tied to the output; 51,176,448 parameters at 7,853 source and 5,893 target words, "
          "63,082,496 with one shared matrix over a joint 37,000-token vocabulary (the paper's 65M)")

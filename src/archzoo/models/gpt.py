"""GPT: the decoder-only Transformer language model, in nanoGPT's layout.

Papers: A. Radford, K. Narasimhan, T. Salimans, I. Sutskever, "Improving Language Understanding by
Generative Pre-Training", 2018 (GPT); A. Radford et al., "Language Models are Unsupervised
Multitask Learners", 2019 (GPT-2: pre-norm blocks, a final LayerNorm, residual projections scaled
at initialisation). https://cdn.openai.com/research-covers/language-unsupervised/language_understanding_paper.pdf

Layout (as karpathy/nanoGPT's model.py, whose parameter names are kept so its checkpoints map):

- token embedding ``wte`` (V, C) plus learned position embedding ``wpe`` (block_size, C), dropout;
- ``n_layer`` pre-norm blocks: x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)), where attn is causal
  multi-head self-attention (one fused ``c_attn`` projection to Q, K, V, softmax(QK^T/sqrt(d))V by
  ``F.scaled_dot_product_attention`` with ``is_causal``, output projection ``c_proj``) and mlp is
  C -> 4C -> C with GELU (the exact erf form);
- a final LayerNorm ``ln_f`` and the output head ``lm_head`` (C -> V, no bias) whose weight is the
  token embedding's (weight tying, Press & Wolf 2017), unless ``tie_weights=False``.

Initialisation: every Linear and Embedding weight N(0, 0.02), biases zero, and the two residual
output projections of each block N(0, 0.02 / sqrt(2 n_layer)) (GPT-2 section 2.3).

Generation keeps a key/value cache (:class:`KVCache`): each new token attends to the cached keys
and values of the ones before it instead of recomputing them; ``forward(idx, cache=...)`` takes the
new tokens only. Positions beyond ``block_size`` are not representable (learned positions), so the
sampler crops the context to the last ``block_size`` tokens and rebuilds the cache when it does.

Deviations: none in the architecture. ``bias=False`` drops the biases of every Linear and LayerNorm
(nanoGPT's option, slightly faster and as good).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.registry import register_model


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 65
    block_size: int = 256
    n_layer: int = 6
    n_head: int = 6
    n_embd: int = 384
    dropout: float = 0.0
    bias: bool = True
    tie_weights: bool = True

    def __post_init__(self) -> None:
        if min(self.vocab_size, self.block_size, self.n_layer, self.n_head, self.n_embd) < 1:
            raise ValueError("vocab_size, block_size, n_layer, n_head and n_embd must be positive")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd={self.n_embd} must be divisible by n_head={self.n_head}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


class KVCache:
    """Keys and values of the tokens seen so far, one (B, heads, T, head_dim) pair per layer."""

    def __init__(self, n_layer: int) -> None:
        self.layers: list[tuple[Tensor, Tensor] | None] = [None] * n_layer

    @property
    def length(self) -> int:
        first = self.layers[0]
        return 0 if first is None else first[0].shape[2]


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.n_head, self.dropout = cfg.n_head, cfg.dropout
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))  # (B, h, T, d)
        past = cache.layers[layer] if cache is not None else None
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)  # (B, h, T_past + T, d)
        if cache is not None:
            cache.layers[layer] = (k, v)
        # new tokens see every cached one and, among themselves, the causal triangle
        if past is None:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0,
                                               is_causal=True)
        else:
            t_all = k.shape[2]
            mask = torch.ones(t, t_all, dtype=torch.bool, device=x.device).tril(diagonal=t_all - t)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = y.transpose(1, 2).contiguous().view(b, t, c)  # (B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """Token ids (B, T) -> next-token logits (B, T, V)."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(cfg.vocab_size, cfg.n_embd),
            wpe=nn.Embedding(cfg.block_size, cfg.n_embd),
            drop=nn.Dropout(cfg.dropout),
            h=nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer)),
            ln_f=nn.LayerNorm(cfg.n_embd, bias=cfg.bias),
        ))
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_weights:
            self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # the residual projections, scaled for depth
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx: Tensor, cache: KVCache | None = None) -> Tensor:
        if idx.ndim != 2 or idx.dtype not in (torch.long, torch.int32, torch.int64):
            raise ValueError(f"gpt expects token ids (B, T) of integers, got {tuple(idx.shape)} {idx.dtype}")
        t = idx.shape[1]
        start = cache.length if cache is not None else 0
        if start + t > self.cfg.block_size:
            raise ValueError(f"gpt sees at most block_size={self.cfg.block_size} tokens, got {start + t}; "
                             "crop the context or build the model with a larger block_size")
        pos = torch.arange(start, start + t, device=idx.device)  # (T,)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))  # (B, T, C)
        for i, block in enumerate(self.transformer.h):
            x = block(x, cache, i)
        return self.lm_head(self.transformer.ln_f(x))  # (B, T, V)

    def new_cache(self) -> KVCache:
        return KVCache(self.cfg.n_layer)


_PAPER = "Improving Language Understanding by Generative Pre-Training"
_URL = "https://cdn.openai.com/research-covers/language-unsupervised/language_understanding_paper.pdf"
_SMALL = "any sequence of 1 to block_size token ids"


def _register(name: str, cfg: GPTConfig, notes: str, reference_params: int | None = None,
              reference: str = "") -> None:
    register_model(name, GPT, cfg, family="gpt", task="language_model", paper=_PAPER, year=2018, url=_URL,
                   input_size=(cfg.block_size,), min_input_size=(1,), small_input=_SMALL, notes=notes,
                   reference_params=reference_params, reference=reference, inputs="tokens")


# nanoGPT's config/train_shakespeare_char.py: the "baby GPT" for characters
_register("gpt", GPTConfig(vocab_size=65, block_size=256, n_layer=6, n_head=6, n_embd=384, dropout=0.2),
          "nanoGPT's shakespeare_char model: 6 layers, 6 heads, 384 wide, 256 characters of context")
# nanoGPT README's CPU run: 4 layers, 4 heads, 128 wide, 64 of context, no dropout
_register("gpt_micro", GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0),
          "nanoGPT's CPU configuration: 4 layers, 4 heads, 128 wide, 64 characters of context")
# GPT-2 small (124M), for BPE vocabularies of GPT-2's size
_register("gpt2", GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768, dropout=0.0),
          "GPT-2 small: 12 layers, 12 heads, 768 wide, 1024 tokens of context, 50,257-token vocabulary",
          reference_params=124_439_808, reference="nanoGPT's GPT-2 (124M) with tied embeddings")

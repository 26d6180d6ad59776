"""Language modelling: next-token cross-entropy; loss in nats per token, perplexity, bits per character.

The plan (:class:`LMPlan`) tokenizes a :class:`~archzoo.data.text.TextCorpus` (characters by default;
words or BPE with ``--set tokenizer=word|bpe``), saves the tokenizer in the run directory
(``tokenizer.json``, reloaded by `eval`, `sample` and `--resume`), and cuts the ids into batches:

- ``bptt=0`` (the default): random windows of ``seq_len`` tokens (nanoGPT); evaluation runs the whole
  held-out text in consecutive windows of ``seq_len``;
- ``bptt=N``: ``batch_size`` contiguous streams read N tokens at a time, the recurrent state carried
  from batch to batch and detached (truncated backpropagation through time, char-rnn); evaluation
  runs the whole held-out text as one stream, the state carried throughout.

The reported validation loss always covers every token of the held-out text once.

Models are either plain (``model(ids) -> logits``, GPT) or recurrent (``model(ids, state) ->
(logits, state)`` with ``init_state``, the char-RNNs): the task tells them apart by that protocol.
The carried state is part of the checkpoint, so a run killed mid-epoch resumes exactly.

Generation (:func:`generate`, :func:`sample_run`): temperature, top-k and nucleus (top-p) sampling;
GPT keeps a key/value cache while the context fits its block, recurrent models carry their state.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.data.core import DataError
from archzoo.data.text import TextCorpus, Tokenizer, build_tokenizer, load_tokenizer, save_tokenizer
from archzoo.data.text.batching import RandomWindows, Streams, Windows
from archzoo.engine.config import ConfigError, TrainConfig
from archzoo.engine.optim import build_optimizer
from archzoo.engine.precision import Precision
from archzoo.tasks.base import unwrap_model

TOKENIZER_FILE = "tokenizer.json"


def is_recurrent(model: nn.Module) -> bool:
    """A recurrent language model: ``init_state(batch, device)`` and ``model(ids, state) -> (logits, state)``."""
    return hasattr(unwrap_model(model), "init_state")


def _detach(state: Any) -> Any:
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


class LMPlan:
    """A text corpus as token ids, and the batches of :mod:`archzoo.data.text.batching`."""

    channels_last = False

    def __init__(self, corpus: TextCorpus, cfg: TrainConfig, run_dir: Path | None = None) -> None:
        splits = corpus.splits(cfg.split)
        saved = run_dir / TOKENIZER_FILE if run_dir is not None else None
        if saved is not None and saved.is_file():
            self.tokenizer: Tokenizer = load_tokenizer(saved)
        elif cfg.tokenizer == "char":  # the whole text's characters, as nanoGPT and char-rnn
            self.tokenizer = build_tokenizer("char", [corpus.text])
        else:  # words and subwords are learnt from the training text only
            self.tokenizer = build_tokenizer(cfg.tokenizer, [splits["train"]], min_freq=cfg.min_freq,
                                             vocab_size=cfg.bpe_vocab_size)
        self.ids = {name: self.tokenizer.encode(text) for name, text in splits.items()}
        self.record = {"name": corpus.name, "source": corpus.source, "tokenizer": self.tokenizer.kind,
                       "vocab_size": self.tokenizer.vocab_size, "split": cfg.split,
                       "splits": {k: len(v) for k, v in self.ids.items()},
                       "characters": {k: len(v) for k, v in splits.items()}}
        self.seq_len = cfg.bptt or cfg.seq_len

    def model_overrides(self, fields: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "vocab_size" in fields:
            out["vocab_size"] = self.tokenizer.vocab_size
        if "block_size" in fields:
            out["block_size"] = self.seq_len
        return out

    def batches(self, cfg: TrainConfig, device: torch.device, rank: int = 0, world_size: int = 1
                ) -> tuple[RandomWindows | Streams, dict[str, Windows | Streams]]:
        evals: dict[str, Windows | Streams]
        if cfg.bptt:
            train: RandomWindows | Streams = Streams(self.ids["train"], cfg.batch_size, cfg.bptt, rank=rank,
                                                     world_size=world_size, device=device)
            evals = {k: Streams(v, 1, cfg.bptt, device=device) for k, v in self.ids.items() if k != "train"}
        else:
            train = RandomWindows(self.ids["train"], cfg.batch_size, cfg.seq_len, seed=cfg.seed, steps=cfg.epoch_steps,
                                  rank=rank, world_size=world_size, device=device)
            evals = {k: Windows(v, cfg.eval_batch_size, cfg.seq_len, device=device)
                     for k, v in self.ids.items() if k != "train"}
        return train, evals

    def check_fits(self, model: nn.Module, batch: tuple[Tensor, ...]) -> None:
        model(batch[0][:2, :8])

    def save(self, run_dir: Path) -> None:
        save_tokenizer(self.tokenizer, run_dir / TOKENIZER_FILE)


class LanguageModelTask:
    name = "language_model"
    best_metric = "loss"
    higher_is_better = False

    def __init__(self) -> None:
        self.state: Any = None  # the recurrent state carried between training batches
        self.char_level = False

    def plan(self, ds: TextCorpus, cfg: TrainConfig, run_dir: Path | None = None) -> LMPlan:
        if not isinstance(ds, TextCorpus):
            raise ConfigError(f"{cfg.model} is a language model and needs a text corpus (tinyshakespeare, "
                              f"text:PATH), not {cfg.data}")
        plan = LMPlan(ds, cfg, run_dir)
        self.char_level = plan.tokenizer.kind == "char"
        return plan

    def build_optimizers(self, model: nn.Module, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        return {"model": build_optimizer(model, cfg)}

    def _logits(self, model: nn.Module, x: Tensor, state: Any) -> tuple[Tensor, Any]:
        if is_recurrent(model):
            return model(x, state)
        return model(x), None

    def train_step(self, model: nn.Module, batch: tuple[Tensor, ...], optimizers: dict[str, torch.optim.Optimizer],
                   cfg: TrainConfig, precision: Precision) -> dict[str, Tensor]:
        x, y = batch[0], batch[1]
        carried = len(batch) == 3 and not batch[2] and self.state is not None  # streams, past the first step
        logits, state = self._logits(model, x, self.state if carried else None)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        precision.optimize(loss, model, optimizers["model"], cfg.grad_clip)
        self.state = _detach(state) if len(batch) == 3 and state is not None else None
        return {"loss": loss.detach()}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[tuple[Tensor, ...]]) -> dict[str, Any]:
        total, count, state = 0.0, 0, None
        for batch in batches:
            x, y = batch[0], batch[1]
            logits, new_state = self._logits(model, x, state if len(batch) == 3 and not batch[2] else None)
            state = new_state if len(batch) == 3 else None
            total += F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1),
                                     reduction="sum").item()
            count += y.numel()
        loss = total / max(count, 1)
        out: dict[str, Any] = {"loss": loss, "perplexity": math.exp(min(loss, 700.0)), "tokens": count}
        if self.char_level:
            out["bpc"] = loss / math.log(2)
        return out

    # the carried state travels with the checkpoint, so a run resumed mid-epoch continues exactly
    def state_tensors(self) -> dict[str, Tensor]:
        if self.state is None:
            return {}
        parts = self.state if isinstance(self.state, tuple) else (self.state,)
        return {f"state.{i}": t for i, t in enumerate(parts)}

    def load_state_tensors(self, tensors: dict[str, Tensor], device: torch.device) -> None:
        parts = [tensors[f"state.{i}"].to(device) for i in range(len(tensors))]
        self.state = None if not parts else parts[0] if len(parts) == 1 else tuple(parts)


# ---- generation ----------------------------------------------------------------------------------

def _pick(logits: Tensor, temperature: float, top_k: int, top_p: float, generator: torch.Generator) -> Tensor:
    """One token id per row of ``logits`` (B, V): temperature, then top-k, then nucleus (top-p) filtering."""
    logits = logits.float() / temperature
    if top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if 0 < top_p < 1:
        sorted_logits, order = torch.sort(logits, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop = cumulative - sorted_logits.softmax(-1) >= top_p  # keep the smallest set whose mass reaches top_p
        logits = logits.masked_fill(drop.scatter(1, order, drop), float("-inf"))
    probs = logits.softmax(-1)
    return torch.multinomial(probs.cpu(), 1, generator=generator).to(logits.device)  # (B, 1)


@torch.no_grad()
def generate(model: nn.Module, idx: Tensor, max_new_tokens: int, *, temperature: float = 1.0, top_k: int = 0,
             top_p: float = 1.0, seed: int = 0, use_cache: bool = True) -> Iterator[int]:
    """Yield ``max_new_tokens`` sampled token ids continuing ``idx`` (1, T), one at a time.

    Recurrent models carry their state. A GPT with ``use_cache`` runs the prompt once and then each
    new token alone against its key/value cache while the context fits its block; past the block it
    recomputes the last ``block_size`` tokens each step (learned positions cannot shift), which is
    what the uncached path does all along, so both give the same tokens for the same seed.
    """
    model.eval()
    g = torch.Generator().manual_seed(seed)
    if is_recurrent(model):
        logits, state = model(idx)
        for _ in range(max_new_tokens):
            nxt = _pick(logits[:, -1], temperature, top_k, top_p, g)
            yield int(nxt)
            logits, state = model(nxt, state)
        return
    block = model.cfg.block_size
    ctx = idx[:, -block:]
    cache = model.new_cache() if use_cache and hasattr(model, "new_cache") else None
    logits = model(ctx, cache) if cache is not None else model(ctx)
    for _ in range(max_new_tokens):
        nxt = _pick(logits[:, -1], temperature, top_k, top_p, g)
        yield int(nxt)
        ctx = torch.cat([ctx, nxt], dim=1)
        if cache is not None and ctx.shape[1] <= block:
            logits = model(nxt, cache)
        else:
            cache = None  # the window slides: every position changes, nothing cached can be reused
            ctx = ctx[:, -block:]
            logits = model(ctx)


def sample_run(run_dir: Path, prompt: str = "", tokens: int = 500, *, temperature: float = 1.0, top_k: int = 0,
               top_p: float = 1.0, seed: int = 0, checkpoint: str = "best", device: str = "auto",
               out: Any = None) -> str:
    """Sample ``tokens`` tokens from a language-model run, streaming the text to ``out`` (default
    stdout) as it comes; returns the whole generated text (without the prompt)."""
    from archzoo.engine.checkpoint import load_checkpoint
    from archzoo.engine.device import resolve_device
    from archzoo.engine.trainer import RunDirError
    from archzoo.registry import create_model

    if tokens <= 0:
        raise ConfigError(f"--tokens must be positive, got {tokens}")
    if temperature <= 0:
        raise ConfigError(f"--temperature must be positive, got {temperature} (use a small value such as 0.1 "
                          "for nearly greedy sampling)")
    if top_k < 0 or not 0 < top_p <= 1:
        raise ConfigError(f"--top-k must be >= 0 and --top-p in (0, 1], got {top_k} and {top_p}")
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise RunDirError(f"{run_dir} is not an archzoo run directory (no config.json)")
    cfg = TrainConfig.load(config_path)
    task = json.loads(config_path.read_text()).get("task")
    if task != LanguageModelTask.name:
        raise ConfigError(f"`archzoo sample` applies to language-model runs; {run_dir} is a {task} run "
                          f"(use `archzoo eval {run_dir}`)")
    if not (run_dir / TOKENIZER_FILE).is_file():
        raise RunDirError(f"{run_dir} has no {TOKENIZER_FILE}; it cannot be sampled")
    tokenizer = load_tokenizer(run_dir / TOKENIZER_FILE)
    model_cfg = json.loads(config_path.read_text())["model_config"]
    model = create_model(cfg.model, **model_cfg)
    state, _, _ = load_checkpoint(run_dir / "checkpoints", checkpoint)
    model.load_state_dict(state)
    target = resolve_device(device)
    model.to(target)
    ids = tokenizer.encode(prompt) if prompt else _start_token(tokenizer)
    if len(ids) == 0:
        raise DataError(f"the prompt {prompt!r} encodes to no tokens; give some text")
    stream = out if out is not None else sys.stdout
    stream.write(prompt)
    produced: list[int] = []
    text = ""
    for token in generate(model, ids[None].to(target), tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                          seed=seed):
        produced.append(token)
        now = tokenizer.decode(produced)  # decode the whole so far: a subword may complete a character
        stream.write(now[len(text):])
        stream.flush()
        text = now
    return text


def _start_token(tokenizer: Tokenizer) -> Tensor:
    """What to start from without a prompt: <bos> where there is one, else a newline, else id 0."""
    if tokenizer.bos_id is not None:
        return torch.tensor([tokenizer.bos_id])
    try:
        return tokenizer.encode("\n")
    except DataError:
        return torch.tensor([0])

"""Machine translation: teacher-forced cross-entropy; greedy and beam-search decoding scored by sacreBLEU.

The plan (:class:`TranslationPlan`) takes a :class:`~archzoo.data.text.ParallelCorpus` (Multi30k,
``parallel:DIR``), learns the subword vocabulary on the training pairs only (BPE with the
``tokenizers`` library by default; one vocabulary for both sides with ``joint_vocab``, else one
each), saves it in the run directory (``tokenizer_src.json``, ``tokenizer_tgt.json``), encodes every
sentence once into padded tensors (sentences cut to ``seq_len`` tokens) and batches them with
:class:`~archzoo.data.text.PairBatches` (length-bucketed in training, corpus order in evaluation).
The splits are ``train``, ``val``, ``test`` (the corpus's reported test set: test_2016_flickr for
Multi30k, recorded in config.json) and the corpus's other test sets under their own names.

Training (teacher forcing): the model reads the source and the target shifted right (``<bos> y_1 ...
y_{T-1}``) and predicts ``y_1 ... y_T <eos>``; the loss is the token cross-entropy with padding
masked and ``label_smoothing`` (0.1 in the recipes, as Vaswani et al.).

Evaluation: the loss and perplexity of the references (teacher forcing, no smoothing), then the
translation of every source sentence, detokenized, scored against the raw references by sacreBLEU:
``bleu`` (cased, 13a tokenization: sacreBLEU's default and WMT's), ``bleu_lc`` (the same,
lowercased), ``chrf`` and sacreBLEU's ``signature`` strings. The per-epoch validation that chooses
best.safetensors decodes with ``val_beam`` (1: greedy, cheap); the final evaluation of every split
with ``beam`` (5 by default), adding ``bleu_greedy`` beside it. ``decode_s`` and
``decode_tokens_per_s`` time the decoding.

Decoding runs the encoder once per sentence and then one :meth:`decode_step` per target position on
the cached encoder output (and, for the Transformer, the cached self-attention keys and values).
Beam search (:func:`beam_search`) is batched and vectorised: B sentences x K beams in one tensor;
every step takes the 2K best extensions of each sentence, moves those ending in ``<eos>`` into the
sentence's K finished hypotheses, ranked by Wu et al. 2016's length-normalised score
``log P(Y) / ((5 + |Y|) / 6) ** alpha`` (``length_penalty`` = alpha), and keeps the K best others
alive. A sentence stops when it has K finished hypotheses or when no live one can still beat its
best (early stopping on end-of-sentence); the batch stops when every sentence has. The length limit
is ``1.5 * source length + 10`` tokens (and the model's positions).

The model contract (archzoo.models.seq2seq, archzoo.models.transformer_mt):
``model(src, tgt_in, src_lengths) -> logits (B, T, V)``; ``encode(src, src_lengths) -> memory``
and ``decode_step(memory, tokens, state, step) -> (logits (B, V), state)``, memory and state being
dicts of tensors with the batch on dim 0; ``cross_attention(src, tgt_in, src_lengths) -> (B, H, T, S)``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.data.core import DataError
from archzoo.data.text import (
    PairBatches,
    ParallelCorpus,
    Tokenizer,
    build_pair_tokenizers,
    encode_pairs,
    load_pair_tokenizers,
    save_pair_tokenizers,
)
from archzoo.engine.config import ConfigError, TrainConfig
from archzoo.engine.optim import build_optimizer
from archzoo.engine.precision import Precision
from archzoo.tasks.base import unwrap_model

PAD, BOS, EOS = 0, 2, 3  # the word and BPE tokenizers' <pad> <unk> <bos> <eos> are ids 0-3
TOKENIZER_FILES = ("tokenizer_src.json", "tokenizer_tgt.json")

# an evaluation batch: (src (B, S), src_lengths (B,), tgt (B, T), tgt_lengths (B,), references, beam width)
EvalBatch = tuple[Tensor, Tensor, Tensor, Tensor, list[str], int]


def _check_specials(tok: Tokenizer, side: str) -> None:
    ids = (tok.pad_id, tok.bos_id, tok.eos_id)
    if ids != (PAD, BOS, EOS):
        raise ConfigError(f"translation needs a tokenizer with <pad>, <bos> and <eos> as ids 0, 2 and 3; the {side} "
                          f"tokenizer ({tok.kind}) has {ids}; use --set tokenizer=bpe (or word)")


class EvalPairs:
    """The evaluation batches of one split, in corpus order, each with its raw references and the beam
    width to decode it with."""

    def __init__(self, batches: PairBatches, references: Sequence[str], beam: int) -> None:
        self.batches, self.references, self.beam = batches, list(references), beam
        self.batch_size = batches.batch_size

    def __len__(self) -> int:
        return len(self.batches)

    def epoch(self, epoch: int = 0, start_step: int = 0) -> Iterator[EvalBatch]:
        start = start_step * self.batch_size
        for src, src_lengths, tgt, tgt_lengths in self.batches.epoch(epoch, start_step):
            refs = self.references[start:start + len(src)]
            start += len(src)
            yield src, src_lengths, tgt, tgt_lengths, refs, self.beam

    def __iter__(self) -> Iterator[EvalBatch]:
        return self.epoch(0)


class TranslationPlan:
    """Sentence pairs as padded token ids, and their :class:`PairBatches`."""

    channels_last = False

    def __init__(self, corpus: ParallelCorpus, cfg: TrainConfig, run_dir: Path | None = None) -> None:
        if run_dir is not None and all((run_dir / name).is_file() for name in TOKENIZER_FILES):
            self.src_tok, self.tgt_tok = load_pair_tokenizers(run_dir)
        else:
            self.src_tok, self.tgt_tok = build_pair_tokenizers(corpus, kind=cfg.tokenizer,
                                                               vocab_size=cfg.bpe_vocab_size,
                                                               joint=cfg.joint_vocab, min_freq=cfg.min_freq)
        _check_specials(self.src_tok, "source")
        _check_specials(self.tgt_tok, "target")
        self.joint = self.src_tok is self.tgt_tok or self.src_tok == self.tgt_tok
        # the reported test set is "test"; the corpus's other test sets keep their names
        names = {"train": "train", "val": "val", corpus.test_split: "test"}
        self.splits = {names.get(name, name): pair for name, pair in corpus.splits.items()}
        if "val" not in self.splits:
            raise ConfigError(f"{corpus.name} has no validation split (val); a translation run needs one to choose "
                              "its best checkpoint")
        self.data = {name: encode_pairs(self.src_tok, self.tgt_tok, sources, targets, cfg.seq_len)
                     for name, (sources, targets) in self.splits.items()}
        self.seq_len = cfg.seq_len
        self.record = {
            "name": corpus.name, "source": corpus.source, "src_lang": corpus.src_lang, "tgt_lang": corpus.tgt_lang,
            "test": corpus.test_split, "tokenizer": self.src_tok.kind, "joint_vocab": self.joint,
            "src_vocab_size": self.src_tok.vocab_size, "tgt_vocab_size": self.tgt_tok.vocab_size,
            "splits": {k: len(v[0]) for k, v in self.splits.items()}, "seq_len": cfg.seq_len,
            "train_tokens": int((self.data["train"]["tgt_lengths"] - 1).sum()),  # predicted per epoch, <eos> too
            # pairs with a side at the length limit (seq_len tokens and <eos>): cut, or exactly that long
            "at_length_limit": {k: int(((v["src_lengths"] > cfg.seq_len) | (v["tgt_lengths"] > cfg.seq_len + 1)).sum())
                                for k, v in self.data.items()},
        }

    def model_overrides(self, fields: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "src_vocab_size" in fields:
            out["src_vocab_size"] = self.src_tok.vocab_size
        if "tgt_vocab_size" in fields:
            out["tgt_vocab_size"] = self.tgt_tok.vocab_size
        if "share_embeddings" in fields:  # one matrix for source, target and output when the vocabulary is one
            out["share_embeddings"] = self.joint
        if "max_len" in fields:  # positions for the longest kept sentence, <bos> and <eos> included
            out["max_len"] = max(256, self.seq_len + 2)
        return out

    def batches(self, cfg: TrainConfig, device: torch.device, rank: int = 0, world_size: int = 1
                ) -> tuple[PairBatches, dict[str, EvalPairs]]:
        def pairs(name: str, batch_size: int, **kw: Any) -> PairBatches:
            d = self.data[name]
            return PairBatches(d["src"], d["src_lengths"], d["tgt"], d["tgt_lengths"], batch_size, device=device, **kw)

        train = pairs("train", cfg.batch_size, shuffle=True, seed=cfg.seed, rank=rank, world_size=world_size)
        evals = {name: EvalPairs(pairs(name, cfg.eval_batch_size), self.splits[name][1],
                                 cfg.val_beam if name == "val" else cfg.beam)
                 for name in self.splits if name != "train"}
        return train, evals

    def check_fits(self, model: nn.Module, batch: Any) -> None:
        src, src_lengths, tgt = batch[0], batch[1], batch[2]
        model(src[:2], tgt[:2, :-1], src_lengths[:2])

    def save(self, run_dir: Path) -> None:
        save_pair_tokenizers(self.src_tok, self.tgt_tok, run_dir)


# ---- decoding ------------------------------------------------------------------------------------

def max_target_length(model: nn.Module, src_lengths: Tensor) -> int:
    """Target tokens (with <eos>) a decoder may produce for these sources: 1.5 S + 10, within its positions."""
    limit = int(1.5 * int(src_lengths.max()) + 10)
    positions = getattr(getattr(model, "cfg", None), "max_len", None)
    return min(limit, positions - 1) if positions else limit


def _strip(rows: Tensor) -> list[list[int]]:
    """Token ids up to (not including) the first <eos> or <pad> of each row."""
    out = []
    for row in rows.tolist():
        cut = len(row)
        for special in (EOS, PAD):
            if special in row:
                cut = min(cut, row.index(special))
        out.append(row[:cut])
    return out


@torch.no_grad()
def greedy_decode(model: nn.Module, src: Tensor, src_lengths: Tensor, max_len: int | None = None) -> list[list[int]]:
    """The most likely next token at every step, for a batch of sources: token ids without <bos>/<eos>."""
    model = unwrap_model(model)
    max_len = max_len or max_target_length(model, src_lengths)
    memory = model.encode(src, src_lengths)
    tokens = torch.full((len(src),), BOS, dtype=torch.long, device=src.device)
    done = torch.zeros(len(src), dtype=torch.bool, device=src.device)
    state, out = None, []
    for step in range(max_len):
        logits, state = model.decode_step(memory, tokens, state, step)
        tokens = logits.argmax(-1).masked_fill(done, PAD)
        out.append(tokens)
        done |= tokens == EOS
        if bool(done.all()):
            break
    return _strip(torch.stack(out, 1))


def _penalty(length: int, alpha: float) -> float:
    """Wu et al. 2016: lp(Y) = ((5 + |Y|) / 6) ** alpha."""
    return ((5.0 + length) / 6.0) ** alpha


@torch.no_grad()
def beam_search(model: nn.Module, src: Tensor, src_lengths: Tensor, beam: int = 5, length_penalty: float = 0.6,
                max_len: int | None = None) -> list[list[int]]:
    """The best hypothesis of a width-``beam`` search for each source, by log P / lp(|Y|) (see the module)."""
    if beam < 1:
        raise ConfigError(f"--beam must be at least 1, got {beam}")
    if beam == 1:
        return greedy_decode(model, src, src_lengths, max_len)
    model = unwrap_model(model)
    max_len = max_len or max_target_length(model, src_lengths)
    B, K, dev = len(src), beam, src.device
    memory = {k: v.repeat_interleave(K, 0) for k, v in model.encode(src, src_lengths).items()}
    tokens = torch.full((B * K,), BOS, dtype=torch.long, device=dev)
    scores = torch.full((B, K), -math.inf, device=dev)
    scores[:, 0] = 0.0  # one live hypothesis to start: the others would repeat it
    history = torch.zeros(B, K, 0, dtype=torch.long, device=dev)  # live hypotheses' tokens so far
    fin_tokens = torch.full((B, K, max_len), PAD, dtype=torch.long, device=dev)  # finished, <eos> included
    fin_scores = torch.full((B, K), -math.inf, device=dev)  # finished, length-normalised
    rows = torch.arange(B, device=dev)[:, None] * K
    worst_lp = _penalty(max_len, length_penalty)  # the largest penalty a live hypothesis can still reach
    state = None
    for step in range(max_len):
        logits, state = model.decode_step(memory, tokens, state, step)
        logp = F.log_softmax(logits.float(), -1)
        V = logp.shape[-1]
        candidates = (scores[..., None] + logp.view(B, K, V)).view(B, K * V)
        top, index = candidates.topk(2 * K, dim=1)  # (B, 2K): at most K of them end in <eos>
        origin, token = index // V, index % V
        last = step == max_len - 1
        ends = (token == EOS) | last  # at the length limit every hypothesis ends
        seq = torch.cat([history.gather(1, origin[..., None].expand(-1, -1, step)), token[..., None]], 2)
        seq = F.pad(seq, (0, max_len - step - 1), value=PAD)  # (B, 2K, max_len)
        ended = torch.where(ends & torch.isfinite(top), top / _penalty(step + 1, length_penalty), -math.inf)
        all_scores = torch.cat([fin_scores, ended], 1)  # (B, 3K): keep the K best finished
        fin_scores, keep = all_scores.topk(K, dim=1)
        fin_tokens = torch.cat([fin_tokens, seq], 1).gather(1, keep[..., None].expand(-1, -1, max_len))
        if last:
            break
        live, pick = torch.where(ends, -math.inf, top).topk(K, dim=1)
        origin, token = origin.gather(1, pick), token.gather(1, pick)
        history = torch.cat([history.gather(1, origin[..., None].expand(-1, -1, step)), token[..., None]], 2)
        scores = live
        order = (rows + origin).view(-1)
        state = {k: v.index_select(0, order) for k, v in state.items()}
        tokens = token.view(-1)
        # a sentence is done when K hypotheses have ended, or when none alive can beat its best
        bound = scores.max(1).values / (worst_lp if length_penalty > 0 else 1.0)
        done = torch.isfinite(fin_scores).all(1) | (fin_scores.max(1).values >= bound)
        if bool(done.all()):
            break
    best = fin_tokens[torch.arange(B, device=dev), fin_scores.argmax(1)]
    return _strip(best)


def sacrebleu_scores(hypotheses: list[str], references: list[str]) -> dict[str, Any]:
    """Corpus BLEU (cased and lowercased, 13a tokenization), chrF, and their sacreBLEU signatures."""
    try:
        from sacrebleu.metrics import BLEU, CHRF
    except ImportError:
        raise ConfigError("scoring translations needs sacreBLEU: pip install 'archzoo[text]' "
                          "(or pip install sacrebleu)") from None
    bleu, bleu_lc, chrf = BLEU(), BLEU(lowercase=True), CHRF()
    return {"bleu": bleu.corpus_score(hypotheses, [references]).score,
            "bleu_lc": bleu_lc.corpus_score(hypotheses, [references]).score,
            "chrf": chrf.corpus_score(hypotheses, [references]).score,
            "signature": {"bleu": str(bleu.get_signature()), "bleu_lc": str(bleu_lc.get_signature()),
                          "chrf": str(chrf.get_signature())}}


class TranslationTask:
    name = "translation"
    best_metric = "bleu"
    higher_is_better = True

    def __init__(self) -> None:
        self.tgt_tok: Tokenizer | None = None
        self.length_penalty = 0.6

    def plan(self, ds: ParallelCorpus, cfg: TrainConfig, run_dir: Path | None = None) -> TranslationPlan:
        if not isinstance(ds, ParallelCorpus):
            raise ConfigError(f"{cfg.model} is a translation model and needs a parallel corpus (multi30k-de-en, "
                              f"multi30k-en-de, parallel:DIR), not {cfg.data}")
        plan = TranslationPlan(ds, cfg, run_dir)
        self.tgt_tok, self.length_penalty = plan.tgt_tok, cfg.length_penalty
        return plan

    def build_optimizers(self, model: nn.Module, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        return {"model": build_optimizer(model, cfg)}

    def train_step(self, model: nn.Module, batch: tuple[Tensor, ...], optimizers: dict[str, torch.optim.Optimizer],
                   cfg: TrainConfig, precision: Precision) -> dict[str, Tensor]:
        src, src_lengths, tgt = batch[0], batch[1], batch[2]
        logits = model(src, tgt[:, :-1], src_lengths)
        target = tgt[:, 1:]
        total = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=PAD,
                                label_smoothing=cfg.label_smoothing, reduction="sum")
        tokens = (target != PAD).sum()
        # the mean over the global batch's target tokens: under DDP every rank holds a different number of
        # them, and DDP averages the ranks' gradients, so each rank divides its sum by (all tokens / ranks)
        everywhere, world = tokens.clone(), 1
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(everywhere)
            world = torch.distributed.get_world_size()
        loss = total * world / everywhere.clamp(min=1)
        precision.optimize(loss, model, optimizers["model"], cfg.grad_clip)
        return {"loss": (total / tokens.clamp(min=1)).detach()}

    def _detokenize(self, rows: list[list[int]]) -> list[str]:
        assert self.tgt_tok is not None, "plan() sets the target tokenizer"
        return [self.tgt_tok.decode(row).strip() for row in rows]

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[EvalBatch]) -> dict[str, Any]:
        loss_sum, tokens, hyps, greedy, refs = 0.0, 0, [], [], []
        decode_s, hyp_tokens, beam = 0.0, 0, 1
        for src, src_lengths, tgt, _, references, beam in batches:
            logits = model(src, tgt[:, :-1], src_lengths).float()
            target = tgt[:, 1:]
            loss_sum += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=PAD,
                                        reduction="sum").item()
            tokens += int((target != PAD).sum())
            t0 = time.perf_counter()
            rows = beam_search(model, src, src_lengths, beam, self.length_penalty)
            decode_s += time.perf_counter() - t0
            hyp_tokens += sum(len(r) + 1 for r in rows)  # with <eos>
            hyps += self._detokenize(rows)
            if beam > 1:
                greedy += self._detokenize(greedy_decode(model, src, src_lengths))
            refs += references
        loss = loss_sum / max(tokens, 1)
        out: dict[str, Any] = {"loss": loss, "perplexity": math.exp(min(loss, 700.0)), "tokens": tokens}
        out.update(sacrebleu_scores(hyps, refs))
        if greedy:
            out["bleu_greedy"] = sacrebleu_scores(greedy, refs)["bleu"]
        out.update({"decoding": f"beam {beam}, length penalty {self.length_penalty}" if beam > 1 else "greedy",
                    "sentences": len(hyps), "decode_s": decode_s,
                    "decode_tokens_per_s": hyp_tokens / decode_s if decode_s > 0 else 0.0})
        return out


# ---- translating with a trained run --------------------------------------------------------------

class Translator:
    """A translation run's model and vocabularies, loaded once: ``translate(sentences)``."""

    def __init__(self, run_dir: Path, *, checkpoint: str = "best", device: str = "auto") -> None:
        from archzoo.engine.checkpoint import load_checkpoint
        from archzoo.engine.device import resolve_device
        from archzoo.engine.trainer import RunDirError
        from archzoo.registry import create_model

        config_path = run_dir / "config.json"
        if not config_path.is_file():
            raise RunDirError(f"{run_dir} is not an archzoo run directory (no config.json)")
        self.cfg = TrainConfig.load(config_path)
        record = json.loads(config_path.read_text())
        if record.get("task") != TranslationTask.name:
            raise ConfigError(f"`archzoo translate` applies to translation runs; {run_dir} is a {record.get('task')} "
                              f"run (use `archzoo eval {run_dir}`)")
        missing = [name for name in TOKENIZER_FILES if not (run_dir / name).is_file()]
        if missing:
            raise RunDirError(f"{run_dir} has no {missing[0]}; it cannot translate")
        self.src_tok, self.tgt_tok = load_pair_tokenizers(run_dir)
        self.model = create_model(self.cfg.model, **record["model_config"])
        state, _, _ = load_checkpoint(run_dir / "checkpoints", checkpoint)
        self.model.load_state_dict(state)
        self.device = resolve_device(device)
        self.model.to(self.device).eval()
        self.max_tokens = self.cfg.seq_len  # the longest source the run trained on (<eos> not counted)

    def encode(self, sentences: Sequence[str], truncate: bool = False) -> tuple[Tensor, Tensor]:
        """Padded source ids and lengths; an empty sentence or one over the limit (without ``truncate``) is
        an error that says which."""
        rows = []
        for i, sentence in enumerate(sentences, 1):
            if not sentence.strip():
                raise DataError(f"sentence {i} is empty; give some text to translate")
            ids = self.src_tok.encode(sentence.strip()).tolist()
            if len(ids) > self.max_tokens and not truncate:
                raise DataError(f"sentence {i} is {len(ids)} tokens long; this model takes at most {self.max_tokens} "
                                "(pass --truncate to translate its first ones)")
            rows.append(torch.tensor([*ids[:self.max_tokens], EOS]))
        lengths = torch.tensor([len(r) for r in rows])
        src = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=PAD)
        return src.to(self.device), lengths.to(self.device)

    def translate(self, sentences: Sequence[str], *, beam: int | None = None, truncate: bool = False,
                  batch_size: int = 64) -> list[str]:
        beam = self.cfg.beam if beam is None else beam
        if beam < 1:
            raise ConfigError(f"--beam must be at least 1, got {beam}")
        out: list[str] = []
        for start in range(0, len(sentences), batch_size):
            src, lengths = self.encode(sentences[start:start + batch_size], truncate)
            rows = beam_search(self.model, src, lengths, beam, self.cfg.length_penalty)
            out += [self.tgt_tok.decode(r).strip() for r in rows]
        return out

    def attention(self, sentence: str, translation: str, *, truncate: bool = False
                  ) -> tuple[Tensor, list[str], list[str]]:
        """The encoder-decoder attention (H, T, S) of the model producing ``translation`` from
        ``sentence``, with the source and target tokens (as text) that label its axes."""
        src, lengths = self.encode([sentence], truncate)
        tgt_ids = [BOS, *self.tgt_tok.encode(translation).tolist()]
        tgt_in = torch.tensor([tgt_ids], device=self.device)
        with torch.no_grad():
            weights = self.model.cross_attention(src, tgt_in, lengths)[0].float().cpu()  # (H, T, S)
        src_labels = [self.src_tok.decode([i]) for i in src[0].tolist()[:-1]] + ["<eos>"]
        tgt_labels = [self.tgt_tok.decode([i]) for i in tgt_ids[1:]] + ["<eos>"]
        # row t is the attention while predicting token t+1 from tokens <= t: label it by the token it predicts
        return weights, src_labels, tgt_labels[:weights.shape[1]]


def plot_attention(weights: Tensor, src_labels: list[str], tgt_labels: list[str], path: Path,
                   head: int | None = None, title: str = "") -> Path:
    """A heat map of encoder-decoder attention, source tokens across and target tokens down; the mean over
    heads, or head ``head``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("drawing attention needs matplotlib: pip install matplotlib") from None
    if head is not None and not 0 <= head < weights.shape[0]:
        raise ConfigError(f"--head must be in 0..{weights.shape[0] - 1} (the model has {weights.shape[0]} heads), "
                          f"got {head}")
    grid = weights.mean(0) if head is None else weights[head]
    fig, ax = plt.subplots(figsize=(0.45 * len(src_labels) + 2, 0.4 * len(tgt_labels) + 1.5))
    ax.imshow(grid.numpy(), cmap="viridis", vmin=0.0, aspect="auto")
    ax.set_xticks(range(len(src_labels)), [s.strip() or "␣" for s in src_labels], rotation=60, ha="right")
    ax.set_yticks(range(len(tgt_labels)), [t.strip() or "␣" for t in tgt_labels])
    ax.set_xlabel("source")
    ax.set_ylabel("target (the token being predicted)")
    ax.set_title(title or ("mean over heads" if head is None else f"head {head}"))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

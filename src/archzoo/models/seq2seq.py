"""Recurrent encoder-decoders for translation: a fixed context (Cho et al. 2014) and attention (Bahdanau et al. 2015).

Papers: K. Cho, B. van Merriënboer, C. Gulcehre, D. Bahdanau, F. Bougares, H. Schwenk, Y. Bengio,
"Learning Phrase Representations using RNN Encoder-Decoder for Statistical Machine Translation",
EMNLP 2014, https://arxiv.org/abs/1406.1078; D. Bahdanau, K. Cho, Y. Bengio, "Neural Machine
Translation by Jointly Learning to Align and Translate", ICLR 2015, https://arxiv.org/abs/1409.0473.

``seq2seq_gru`` (Cho et al., sec. 2.2; e(.) is an embedding):

    h_j = GRU(e(x_j), h_{j-1}),   c = h_S                the context: the encoder's last state
    s_0 = c,   s_t = GRU([e(y_{t-1}); c], s_{t-1})       the decoder reads c at every step
    p(y_t | y_<t, x) = softmax(W_o [s_t; e(y_{t-1}); c] + b_o)

``seq2seq_attention`` (Bahdanau et al., sec. 3 and appendix A):

    h_j = [fwd h_j; bwd h_j]                             a bidirectional GRU over the source
    s_0 = tanh(W_s [fwd h_S; bwd h_1] + b_s)
    e_tj = v^T tanh(W s_{t-1} + U h_j + b)               additive attention; U h_j + b once per sentence
    a_tj = exp(e_tj) / sum_k exp(e_tk)                   over the real source positions only
    c_t = sum_j a_tj h_j
    s_t = GRU([e(y_{t-1}); c_t], s_{t-1})
    p(y_t | y_<t, x) = softmax(W_o [s_t; c_t; e(y_{t-1})] + b_o)

Sizes are those of bentrevett/pytorch-seq2seq's notebooks 2 and 3 (embeddings 256, GRUs 512 wide,
attention 512, dropout 0.5), whose parameter counts at their Multi30k vocabularies (7,853 German and
5,893 English words) the cards pin: 14,219,781 and 20,518,405.

One interface for every translation model (the Transformer's too), used by the translation task:

- ``forward(src (B, S), tgt_in (B, T), src_lengths (B,) or None) -> logits (B, T, tgt_vocab_size)``,
  teacher forcing: ``tgt_in`` starts with <bos>; padding after a sentence's end changes nothing
  before it (the decoder is causal). Sources are read as packed sequences, so source padding never
  changes a result; ``src_lengths=None`` means no padding.
- ``encode(src, src_lengths) -> memory``, ``decode_step(memory, tokens (B,), state, step) ->
  (logits (B, V), state)``: decoding one token at a time (state None at step 0, which gets <bos>).
  Every tensor of ``memory`` and ``state`` has the batch on dim 0, so a beam search reorders or
  repeats them with ``index_select(0, idx)``.
- ``cross_attention(src, tgt_in, src_lengths) -> (B, 1, T, S)``: the weights a_tj (seq2seq_attention);
  seq2seq_gru has none and raises ValueError.

Deviations from the papers:

- The output layer is one Linear and softmax (the notebooks'); the papers put a maxout layer of
  500 units before it (Bahdanau et al.'s "deep output").
- seq2seq_gru starts the decoder at s_0 = c (notebook 2); Cho et al. start it at tanh(V' c).
- seq2seq_attention starts the decoder from both directions' final states (notebook 3); Bahdanau et
  al. from the backward one alone, s_0 = tanh(W_s bwd h_1). Its output layer reads s_t (notebook 3);
  theirs reads s_{t-1}, y_{t-1} and c_t.
- The GRUs are torch's (cuDNN's form): the reset gate multiplies the recurrent product,
  r * (U h + b_hn), where Cho et al.'s eq. 8 applies it before the product, U (r * h). The context
  enters the decoder GRU as part of its input, W [e; c] = W_e e + C c, so no reset gate acts on it.
- The attention energy has a bias b (the notebook's one Linear over [s; h]); Bahdanau et al.'s has none.
- Dropout 0.5 on the source and target embeddings (the notebooks'); the papers use none.
- Training reads the reference target at every step (teacher forcing, as the papers); the notebooks
  feed the model's own guess half of the time.

Initialisation as the papers' appendices (Cho et al. A.1, Bahdanau et al. B.2): weights N(0, 0.01^2),
recurrent matrices orthogonal (each gate's block on its own), W and U of the attention N(0, 0.001^2),
v and every bias zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from archzoo.layers.drop import Dropout
from archzoo.layers.sequence import (
    check_decode_step,
    check_pair_input,
    check_token_input,
    check_vocabularies,
    length_mask,
)
from archzoo.registry import register_model


def _check_sizes(dropout: float, **sizes: int) -> None:
    for key, value in sizes.items():
        if value < 1:
            raise ValueError(f"{key} must be positive, got {value}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")


@dataclass(frozen=True)
class Seq2SeqConfig:
    src_vocab_size: int = 7853
    tgt_vocab_size: int = 5893
    pad_id: int = 0
    bos_id: int = 2
    eos_id: int = 3
    embedding_dim: int = 256
    hidden_size: int = 512  # encoder and decoder GRU (the context is the encoder's state, the decoder's start)
    dropout: float = 0.5  # on the source and target embeddings

    def __post_init__(self) -> None:
        check_vocabularies(self.src_vocab_size, self.tgt_vocab_size, self.pad_id, self.bos_id, self.eos_id)
        _check_sizes(self.dropout, embedding_dim=self.embedding_dim, hidden_size=self.hidden_size)


@dataclass(frozen=True)
class AttentionSeq2SeqConfig:
    src_vocab_size: int = 7853
    tgt_vocab_size: int = 5893
    pad_id: int = 0
    bos_id: int = 2
    eos_id: int = 3
    embedding_dim: int = 256
    encoder_hidden_size: int = 512  # per direction: h_j is twice as wide
    decoder_hidden_size: int = 512
    attention_dim: int = 512  # rows of W and U, length of v
    dropout: float = 0.5  # on the source and target embeddings

    def __post_init__(self) -> None:
        check_vocabularies(self.src_vocab_size, self.tgt_vocab_size, self.pad_id, self.bos_id, self.eos_id)
        _check_sizes(self.dropout, embedding_dim=self.embedding_dim, encoder_hidden_size=self.encoder_hidden_size,
                     decoder_hidden_size=self.decoder_hidden_size, attention_dim=self.attention_dim)


def _read_source(rnn: nn.GRU, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
    """Run ``rnn`` over embedded sources x (B, S, E), each row to its own length.

    Returns (outputs (B, S, directions * H), zero past each length; final states (directions, B, H)
    in the batch's order, the forward one after the last real token).
    """
    if lengths is None:
        return rnn(x)
    # lengths on the CPU, as packing requires; unsorted rows are sorted and restored by torch
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, h = rnn(packed)
    out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])  # (B, S, D)
    return out, h


def _init_weights(model: nn.Module) -> None:
    """Matrices N(0, 0.01^2), biases zero, then each GRU gate's recurrent block orthogonal."""
    for p in model.parameters():
        if p.dim() > 1:
            nn.init.normal_(p, std=0.01)
        else:
            nn.init.zeros_(p)
    for m in model.modules():
        if isinstance(m, nn.GRU):
            recurrent = [weights[1] for weights in m.all_weights]  # [w_ih, w_hh, b_ih, b_hh] per direction
        elif isinstance(m, nn.GRUCell):
            recurrent = [m.weight_hh]
        else:
            continue
        for w in recurrent:
            for gate in w.data.chunk(3):  # r, z, n: (H, H) each
                nn.init.orthogonal_(gate)


class RNNEncoderDecoder(nn.Module):
    """seq2seq_gru: source ids (B, S) and target inputs (B, T) -> logits (B, T, tgt_vocab_size)."""

    name = "seq2seq_gru"

    def __init__(self, cfg: Seq2SeqConfig) -> None:
        super().__init__()
        self.cfg = cfg
        e, h = cfg.embedding_dim, cfg.hidden_size
        self.src_embedding = nn.Embedding(cfg.src_vocab_size, e)
        self.encoder = nn.GRU(e, h, batch_first=True)
        self.tgt_embedding = nn.Embedding(cfg.tgt_vocab_size, e)
        self.decoder = nn.GRU(e + h, h, batch_first=True)  # reads [e(y_{t-1}); c]
        self.output = nn.Linear(h + e + h, cfg.tgt_vocab_size)  # reads [s_t; e(y_{t-1}); c]
        self.dropout = Dropout(cfg.dropout)
        _init_weights(self)

    def encode(self, src: Tensor, src_lengths: Tensor | None = None) -> dict[str, Tensor]:
        """{"context": c (B, H)}: the encoder's state after each row's last real token."""
        check_token_input(self.name, src, src_lengths)
        _, h = _read_source(self.encoder, self.dropout(self.src_embedding(src)), src_lengths)  # (1, B, H)
        return {"context": h[0]}

    def _decode(self, context: Tensor, tokens: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        """Previous tokens (B, T) from state s (B, H) -> (logits (B, T, V), the last state (B, H))."""
        e = self.dropout(self.tgt_embedding(tokens))  # (B, T, E)
        c = context[:, None].expand(-1, tokens.shape[1], -1)  # (B, T, H): the same c at every step
        states, last = self.decoder(torch.cat([e, c], dim=-1), s[None].contiguous())  # (B, T, H), (1, B, H)
        return self.output(torch.cat([states, e, c], dim=-1)), last[0]

    def forward(self, src: Tensor, tgt_in: Tensor, src_lengths: Tensor | None = None) -> Tensor:
        check_pair_input(self.name, src, tgt_in, src_lengths)
        context = self.encode(src, src_lengths)["context"]
        return self._decode(context, tgt_in, context)[0]

    def decode_step(self, memory: dict[str, Tensor], tokens: Tensor, state: dict[str, Tensor] | None,
                    step: int) -> tuple[Tensor, dict[str, Tensor]]:
        """One decoder step: previous tokens (B,) -> (logits (B, V), {"hidden": s_t (B, H)})."""
        check_decode_step(self.name, tokens, state, step)
        s = memory["context"] if state is None else state["hidden"]
        logits, s = self._decode(memory["context"], tokens[:, None], s)
        return logits[:, 0], {"hidden": s}

    def cross_attention(self, src: Tensor, tgt_in: Tensor, src_lengths: Tensor | None = None) -> Tensor:
        raise ValueError("seq2seq_gru has no attention: its decoder reads one fixed context, the encoder's last "
                         "state; seq2seq_attention and the transformers have cross-attention weights")


class AdditiveAttention(nn.Module):
    """e_j = v^T tanh(W s + U h_j + b) over the real positions j; a = softmax(e); c = sum_j a_j h_j."""

    def __init__(self, query_dim: int, key_dim: int, attention_dim: int) -> None:
        super().__init__()
        self.w = nn.Linear(query_dim, attention_dim, bias=False)
        self.u = nn.Linear(key_dim, attention_dim)  # its bias is the b of e_j
        self.v = nn.Linear(attention_dim, 1, bias=False)

    def keys(self, h: Tensor) -> Tensor:
        """U h_j + b for every source position (B, S, attention_dim): once per sentence."""
        return self.u(h)

    def forward(self, s: Tensor, keys: Tensor, values: Tensor, real: Tensor) -> tuple[Tensor, Tensor]:
        """s (B, query_dim), keys (B, S, A), values h (B, S, key_dim), real (B, S) bool ->
        (context c (B, key_dim), weights a (B, S), zero on padding)."""
        e = self.v(torch.tanh(self.w(s)[:, None] + keys)).squeeze(-1)  # (B, S)
        a = torch.softmax(e.masked_fill(~real, float("-inf")), dim=-1)  # (B, S)
        return torch.bmm(a[:, None], values).squeeze(1), a  # (B, key_dim), (B, S)


class AttentionEncoderDecoder(nn.Module):
    """seq2seq_attention: source ids (B, S) and target inputs (B, T) -> logits (B, T, tgt_vocab_size)."""

    name = "seq2seq_attention"

    def __init__(self, cfg: AttentionSeq2SeqConfig) -> None:
        super().__init__()
        self.cfg = cfg
        e, h, s = cfg.embedding_dim, cfg.encoder_hidden_size, cfg.decoder_hidden_size
        self.src_embedding = nn.Embedding(cfg.src_vocab_size, e)
        self.encoder = nn.GRU(e, h, batch_first=True, bidirectional=True)
        self.init_state = nn.Linear(2 * h, s)  # W_s, b_s
        self.attention = AdditiveAttention(s, 2 * h, cfg.attention_dim)
        self.tgt_embedding = nn.Embedding(cfg.tgt_vocab_size, e)
        self.decoder = nn.GRUCell(e + 2 * h, s)  # reads [e(y_{t-1}); c_t]
        self.output = nn.Linear(s + 2 * h + e, cfg.tgt_vocab_size)  # reads [s_t; c_t; e(y_{t-1})]
        self.dropout = Dropout(cfg.dropout)
        _init_weights(self)
        nn.init.normal_(self.attention.w.weight, std=0.001)
        nn.init.normal_(self.attention.u.weight, std=0.001)

    def encode(self, src: Tensor, src_lengths: Tensor | None = None) -> dict[str, Tensor]:
        """{"values": h (B, S, 2H), "keys": U h + b (B, S, A), "real": (B, S) bool, "start": s_0 (B, H_dec)}."""
        lengths = check_token_input(self.name, src, src_lengths)
        h, last = _read_source(self.encoder, self.dropout(self.src_embedding(src)), src_lengths)  # (B, S, 2H)
        start = torch.tanh(self.init_state(torch.cat([last[0], last[1]], dim=-1)))  # (B, H_dec)
        real = length_mask(lengths.to(src.device), src.shape[1])  # (B, S)
        return {"values": h, "keys": self.attention.keys(h), "real": real, "start": start}

    def _step(self, memory: dict[str, Tensor], e: Tensor, s: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Embedded previous tokens e (B, E), state s_{t-1} (B, H_dec) -> (s_t, c_t (B, 2H), a_t (B, S))."""
        c, a = self.attention(s, memory["keys"], memory["values"], memory["real"])
        return self.decoder(torch.cat([e, c], dim=-1), s), c, a

    def _teacher_forced(self, src: Tensor, tgt_in: Tensor, src_lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        """(logits (B, T, V), attention weights (B, T, S)) reading the reference target at every step."""
        check_pair_input(self.name, src, tgt_in, src_lengths)
        memory = self.encode(src, src_lengths)
        e = self.dropout(self.tgt_embedding(tgt_in))  # (B, T, E)
        s = memory["start"]
        states, contexts, weights = [], [], []
        for t in range(tgt_in.shape[1]):  # a_t depends on s_{t-1}: one step at a time
            s, c, a = self._step(memory, e[:, t], s)
            states.append(s)
            contexts.append(c)
            weights.append(a)
        # the output layer, the largest product, once over every step
        out = torch.cat([torch.stack(states, 1), torch.stack(contexts, 1), e], dim=-1)  # (B, T, H_dec + 2H + E)
        return self.output(out), torch.stack(weights, 1)

    def forward(self, src: Tensor, tgt_in: Tensor, src_lengths: Tensor | None = None) -> Tensor:
        return self._teacher_forced(src, tgt_in, src_lengths)[0]

    def decode_step(self, memory: dict[str, Tensor], tokens: Tensor, state: dict[str, Tensor] | None,
                    step: int) -> tuple[Tensor, dict[str, Tensor]]:
        """One decoder step: previous tokens (B,) -> (logits (B, V), {"hidden": s_t (B, H_dec)})."""
        check_decode_step(self.name, tokens, state, step)
        e = self.dropout(self.tgt_embedding(tokens))  # (B, E)
        s, c, _ = self._step(memory, e, memory["start"] if state is None else state["hidden"])
        return self.output(torch.cat([s, c, e], dim=-1)), {"hidden": s}

    def cross_attention(self, src: Tensor, tgt_in: Tensor, src_lengths: Tensor | None = None) -> Tensor:
        """The alignment a_tj (B, 1, T, S): each row sums to 1 over the real source positions, 0 on padding."""
        return self._teacher_forced(src, tgt_in, src_lengths)[1][:, None]


_MULTI30K = "7,853 German and 5,893 English words: the Multi30k vocabularies of bentrevett/pytorch-seq2seq"
register_model(
    "seq2seq_gru", RNNEncoderDecoder, Seq2SeqConfig(), family="seq2seq", task="translation",
    paper="Learning Phrase Representations using RNN Encoder-Decoder for Statistical Machine Translation",
    year=2014, url="https://arxiv.org/abs/1406.1078", input_size=(32,), min_input_size=(1,), inputs="token_pairs",
    small_input="sources and targets of 1 token or more",
    notes=f"GRU encoder-decoder with a fixed context read at every step; embeddings 256, GRUs 512, dropout 0.5; "
          f"14,219,781 parameters at {_MULTI30K}",
    reference_params=14_219_781, reference="bentrevett/pytorch-seq2seq notebook 2 (Multi30k vocabularies)")
register_model(
    "seq2seq_attention", AttentionEncoderDecoder, AttentionSeq2SeqConfig(), family="seq2seq", task="translation",
    paper="Neural Machine Translation by Jointly Learning to Align and Translate", year=2015,
    url="https://arxiv.org/abs/1409.0473", input_size=(32,), min_input_size=(1,), inputs="token_pairs",
    small_input="sources and targets of 1 token or more",
    notes=f"bidirectional GRU encoder, additive attention, GRU decoder; embeddings 256, encoder 512 per direction, "
          f"decoder 512, attention 512, dropout 0.5; 20,518,405 parameters at {_MULTI30K}",
    reference_params=20_518_405, reference="bentrevett/pytorch-seq2seq notebook 3 (Multi30k vocabularies)")

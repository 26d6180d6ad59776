"""The translation models' shared interface: forward, encode / decode_step, cross_attention, on small configs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import archzoo
from archzoo.cli import main

SRC_V, TGT_V = 19, 23
TINY = {
    "seq2seq_gru": dict(embedding_dim=16, hidden_size=32),
    "seq2seq_attention": dict(embedding_dim=16, encoder_hidden_size=16, decoder_hidden_size=24, attention_dim=20),
    "transformer_small": dict(d_model=32, num_heads=4, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=48),
    # pre-norm here, so that the interface is checked in both layer orders
    "transformer_base": dict(d_model=32, num_heads=4, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=48,
                             norm_first=True),
}
NAMES = list(TINY)


def tiny(name: str, **overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    return archzoo.create_model(name, src_vocab_size=SRC_V, tgt_vocab_size=TGT_V, **{**TINY[name], **overrides})


def padded_batch(widths=(5, 2, 7), width: int | None = None, junk: bool = False, seed: int = 0):
    """Sentences of the given lengths (ids 4..SRC_V-1), padded to ``width`` with <pad> (or with random ids)."""
    g = torch.Generator().manual_seed(seed)
    width = width or max(widths)
    lengths = torch.tensor(widths)
    src = torch.randint(4, SRC_V, (len(widths), width), generator=g) if junk else torch.zeros(len(widths), width,
                                                                                           dtype=torch.long)
    words = torch.randint(4, SRC_V, (len(widths), max(widths)), generator=torch.Generator().manual_seed(seed + 1))
    for i, n in enumerate(widths):
        src[i, :n] = words[i, :n]
    return src, lengths


def target_in(batch: int, length: int = 6, seed: int = 2) -> torch.Tensor:
    tgt = torch.randint(4, TGT_V, (batch, length), generator=torch.Generator().manual_seed(seed))
    tgt[:, 0] = 2  # <bos>
    return tgt


def test_registered_as_translation_models() -> None:
    assert archzoo.list_models(task="translation") == sorted(NAMES)
    for name in NAMES:
        card = archzoo.model_card(name)
        assert card.inputs == "token_pairs" and card.min_input_size == (1,)
        cfg = card.config
        assert (cfg.pad_id, cfg.bos_id, cfg.eos_id) == (0, 2, 3)


@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_batch_first_memory_and_state(name: str) -> None:
    model = tiny(name).eval()
    src, lengths = padded_batch()
    tgt = target_in(3, 4)
    assert model(src, tgt, lengths).shape == (3, 4, TGT_V)
    assert model(src[:, :1], tgt[:, :1]).shape == (3, 1, TGT_V)  # the smallest input
    memory = model.encode(src, lengths)
    assert all(v.shape[0] == 3 for v in memory.values())
    logits, state = model.decode_step(memory, tgt[:, 0], None, 0)
    assert logits.shape == (3, TGT_V) and all(v.shape[0] == 3 for v in state.values())


@pytest.mark.parametrize("name", NAMES)
def test_source_padding_never_changes_results(name: str) -> None:
    model = tiny(name).eval()
    narrow, lengths = padded_batch()
    wide, _ = padded_batch(width=11, junk=True)  # the same sentences, padded further with random ids
    tgt = target_in(3)
    with torch.no_grad():
        torch.testing.assert_close(model(narrow, tgt, lengths), model(wide, tgt, lengths), atol=1e-5, rtol=1e-5)
        # no lengths: no padding, the same as lengths that fill the width
        full = torch.full((3,), narrow.shape[1])
        torch.testing.assert_close(model(narrow, tgt), model(narrow, tgt, full), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_target_padding_after_the_end_changes_nothing_before_it(name: str) -> None:
    model = tiny(name).eval()
    src, lengths = padded_batch()
    tgt = target_in(3, 7)
    padded = tgt.clone()
    padded[0, 4:] = 0  # a sentence that ended after 4 inputs, then <pad>
    padded[2, 2:] = 0
    with torch.no_grad():
        a, b = model(src, tgt, lengths), model(src, padded, lengths)
    torch.testing.assert_close(a[0, :4], b[0, :4], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a[1], b[1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a[2, :2], b[2, :2], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_decode_step_reproduces_forward_and_follows_reordered_rows(name: str) -> None:
    model = tiny(name).eval()
    src, lengths = padded_batch()
    tgt = target_in(3, 6)
    with torch.no_grad():
        expected = model(src, tgt, lengths)
        memory, state = model.encode(src, lengths), None
        for t in range(3):
            logits, state = model.decode_step(memory, tgt[:, t], state, t)
            torch.testing.assert_close(logits, expected[:, t], atol=1e-5, rtol=1e-5)
        # a beam search keeps row 2 twice and row 0 once: every memory and state tensor is reordered on dim 0
        idx = torch.tensor([2, 0, 2])
        memory = {k: v.index_select(0, idx) for k, v in memory.items()}
        state = {k: v.index_select(0, idx) for k, v in state.items()}
        expected = model(src[idx], tgt[idx], lengths[idx])
        for t in range(3, 6):
            logits, state = model.decode_step(memory, tgt[idx, t], state, t)
            torch.testing.assert_close(logits, expected[:, t], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "seq2seq_gru"])
def test_cross_attention_rows_sum_to_one_over_the_real_source(name: str) -> None:
    model = tiny(name).eval()
    src, lengths = padded_batch()
    tgt = target_in(3, 5)
    with torch.no_grad():
        w = model.cross_attention(src, tgt, lengths)
    heads = 1 if name == "seq2seq_attention" else 4
    assert w.shape == (3, heads, 5, 7)
    torch.testing.assert_close(w.sum(-1), torch.ones(3, heads, 5))
    for i, n in enumerate(lengths.tolist()):
        assert (w[i, :, :, n:] == 0).all() and (w[i, :, :, :n] > 0).all()


def test_seq2seq_gru_has_no_cross_attention() -> None:
    src, lengths = padded_batch()
    with pytest.raises(ValueError, match="seq2seq_gru has no attention"):
        tiny("seq2seq_gru").cross_attention(src, target_in(3), lengths)


def copy_pairs(n: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(src, lengths, tgt_in, tgt_out): sentences of 3 to 6 ids copied to the target, <pad> after the ends."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(3, 7, (n,), generator=g)
    src = torch.zeros(n, 6, dtype=torch.long)
    tgt_in = torch.zeros(n, 7, dtype=torch.long)
    tgt_out = torch.zeros(n, 7, dtype=torch.long)
    for i, k in enumerate(lengths.tolist()):
        words = torch.randint(4, min(SRC_V, TGT_V), (k,), generator=g)
        src[i, :k] = words
        tgt_in[i, 0], tgt_in[i, 1:k + 1] = 2, words
        tgt_out[i, :k], tgt_out[i, k] = words, 3
    return src, lengths, tgt_in, tgt_out


@pytest.mark.parametrize("name", NAMES)
def test_a_tiny_model_learns_a_few_copy_pairs(name: str) -> None:
    model = tiny(name, dropout=0.0).train()
    src, lengths, tgt_in, tgt_out = copy_pairs()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(100):
        loss = F.cross_entropy(model(src, tgt_in, lengths).flatten(0, 1), tgt_out.flatten(), ignore_index=0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1, f"{name}: loss {loss.item():.3f} after 100 steps"


@pytest.mark.parametrize("name", NAMES)
def test_bad_inputs_are_clear_errors(name: str) -> None:
    model = tiny(name).eval()
    src, lengths = padded_batch()
    with pytest.raises(ValueError, match=r"target ids \(B, T\) = \(3, T\)"):
        model(src, target_in(2), lengths)
    with pytest.raises(ValueError, match=r"token ids \(B, L\)"):
        model(src.float(), target_in(3), lengths)
    memory = model.encode(src, lengths)
    with pytest.raises(ValueError, match="step 0 with state None"):
        model.decode_step(memory, target_in(3)[:, 0], None, 2)
    with pytest.raises(ValueError, match=r"previous target ids \(B,\)"):
        model.decode_step(memory, target_in(3)[:, :1], None, 0)


@pytest.mark.parametrize("name", NAMES)
def test_bad_vocabulary_settings_are_named(name: str) -> None:
    with pytest.raises(ValueError, match="must be different ids"):
        archzoo.create_model(name, bos_id=0)
    with pytest.raises(ValueError, match="eos_id=30 must be an id of both vocabularies"):
        archzoo.create_model(name, src_vocab_size=SRC_V, tgt_vocab_size=TGT_V, eos_id=30)


def test_info_shows_both_inputs(capsys) -> None:
    assert main(["info", "seq2seq_attention", "--input", "6", "--batch-size", "2", "--no-memory"]) == 0
    out = capsys.readouterr().out
    assert "input 2x6, 2x6  ->  output 2x6x5893" in out and "20,518,405" in out

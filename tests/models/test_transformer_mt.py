"""The translation Transformer: written-out attention against the fused kernel and against torch.nn.Transformer,
weight sharing, the paper's parameter count, positions and the decoder's cache."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_model, save_model
from torch import nn

import archzoo

SRC_V, TGT_V = 19, 23
SIZES = dict(d_model=32, num_heads=4, num_encoder_layers=2, num_decoder_layers=3, dim_feedforward=48)


def tiny(**overrides) -> nn.Module:
    torch.manual_seed(0)
    return archzoo.create_model("transformer_small", **{"src_vocab_size": SRC_V, "tgt_vocab_size": TGT_V,
                                                        **SIZES, **overrides})


def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    src = torch.randint(4, SRC_V, (3, 7), generator=g)
    lengths = torch.tensor([7, 3, 5])
    src[1, 3:] = src[2, 5:] = 0
    tgt = torch.randint(4, TGT_V, (3, 6), generator=g)
    tgt[:, 0] = 2
    return src, tgt, lengths


def incremental(model: nn.Module, src, tgt, lengths) -> torch.Tensor:
    memory, state, out = model.encode(src, lengths), None, []
    for t in range(tgt.shape[1]):
        logits, state = model.decode_step(memory, tgt[:, t], state, t)
        assert all(v.shape[2] == t + 1 for v in state.values())  # every layer's cache grew by one position
        out.append(logits)
    return torch.stack(out, 1)


@pytest.mark.parametrize("norm_first", [False, True])
def test_reference_attention_is_the_same_network(norm_first: bool) -> None:
    fused = tiny(norm_first=norm_first).eval()
    reference = tiny(norm_first=norm_first, attention="reference").eval()
    reference.load_state_dict(fused.state_dict())  # the same parameter names and shapes
    src, tgt, lengths = batch()
    with torch.no_grad():
        expected = fused(src, tgt, lengths)
        torch.testing.assert_close(reference(src, tgt, lengths), expected, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(incremental(reference, src, tgt, lengths), expected, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(incremental(fused, src, tgt, lengths), expected, atol=1e-5, rtol=1e-5)
        weights = fused.cross_attention(src, tgt, lengths)
        torch.testing.assert_close(reference.cross_attention(src, tgt, lengths), weights, atol=1e-5, rtol=1e-5)
    assert isinstance(reference.encoder.layers[0].norm1, archzoo.nn.LayerNorm)


@pytest.mark.parametrize("norm_first", [False, True])
def test_matches_torch_nn_transformer(norm_first: bool) -> None:
    model = tiny(norm_first=norm_first).eval()
    d, h, ff = SIZES["d_model"], SIZES["num_heads"], SIZES["dim_feedforward"]
    enc = nn.TransformerEncoderLayer(d, h, ff, dropout=0.0, batch_first=True, norm_first=norm_first)
    dec = nn.TransformerDecoderLayer(d, h, ff, dropout=0.0, batch_first=True, norm_first=norm_first)
    # the pre-norm model ends each stack with a LayerNorm, the post-norm one does not (the paper)
    torch_model = nn.ModuleDict(dict(
        encoder=nn.TransformerEncoder(enc, SIZES["num_encoder_layers"], nn.LayerNorm(d) if norm_first else None,
                                      enable_nested_tensor=False),
        decoder=nn.TransformerDecoder(dec, SIZES["num_decoder_layers"], nn.LayerNorm(d) if norm_first else None),
    )).eval()
    ours = {k: v for k, v in model.state_dict().items() if k.startswith(("encoder.", "decoder."))}
    torch_model.load_state_dict(ours)  # strict: every name and shape matches
    src, tgt, lengths = batch()
    pad = torch.arange(src.shape[1]) >= lengths[:, None]  # torch.nn's convention: True = padding
    with torch.no_grad():
        x = model._embed(model.src_embedding, src, 0)
        mem = torch_model.encoder(x, src_key_padding_mask=pad)
        y = model._embed(model.tgt_embedding, tgt, 0)
        causal = nn.Transformer.generate_square_subsequent_mask(tgt.shape[1])
        out = torch_model.decoder(y, mem, tgt_mask=causal, memory_key_padding_mask=pad, tgt_is_causal=True)
        torch.testing.assert_close(model(src, tgt, lengths), model.output(out), atol=1e-5, rtol=1e-5)


def test_share_embeddings_uses_one_matrix_three_times() -> None:
    separate = tiny(src_vocab_size=TGT_V)
    shared = tiny(src_vocab_size=TGT_V, share_embeddings=True)
    assert shared.src_embedding.weight is shared.tgt_embedding.weight is shared.output.weight
    assert archzoo.count_params(separate) - archzoo.count_params(shared) == 2 * TGT_V * SIZES["d_model"]
    src, tgt, lengths = batch()
    shared(src, tgt, lengths).square().mean().backward()
    assert shared.output.weight.grad is not None
    with pytest.raises(ValueError, match="src_vocab_size=19 and tgt_vocab_size=23; use tie_output=True"):
        tiny(share_embeddings=True)


def test_tie_output_shares_only_the_target_embedding(tmp_path) -> None:
    model = tiny(tie_output=True)
    assert model.tgt_embedding.weight is model.output.weight
    assert model.src_embedding.weight is not model.tgt_embedding.weight
    assert archzoo.count_params(tiny()) - archzoo.count_params(model) == TGT_V * SIZES["d_model"]
    # the tied matrix is stored once and comes back tied
    save_model(model, str(tmp_path / "m.safetensors"))
    clone = tiny(tie_output=True)
    load_model(clone, str(tmp_path / "m.safetensors"))
    assert clone.tgt_embedding.weight is clone.output.weight
    torch.testing.assert_close(clone.output.weight, model.output.weight)


def test_base_parameter_count_is_the_papers_for_a_shared_37000_vocabulary() -> None:
    d, ff, layers, vocab = 512, 2048, 6, 37_000
    attention = 3 * d * d + 3 * d + d * d + d  # in_proj [W^Q; W^K; W^V] with biases, out_proj W^O
    feed_forward = d * ff + ff + ff * d + d
    norm = 2 * d
    encoder_layer = attention + feed_forward + 2 * norm
    decoder_layer = 2 * attention + feed_forward + 3 * norm
    expected = vocab * d + layers * (encoder_layer + decoder_layer)  # one matrix: both embeddings and the output
    with torch.device("meta"):
        model = archzoo.create_model("transformer_base", src_vocab_size=vocab, tgt_vocab_size=vocab,
                                     share_embeddings=True)
    assert archzoo.count_params(model) == expected == 63_082_496
    assert abs(expected - 65e6) / 65e6 < 0.05  # Table 3 rounds to "65M"
    card = archzoo.model_card("transformer_base")
    assert card.config.tie_output and "63,082,496" in card.notes and f"{card.num_params:,}" in card.notes
    assert f"{archzoo.model_card('transformer_small').num_params:,}" in archzoo.model_card("transformer_small").notes


def test_positions_end_at_max_len() -> None:
    model = tiny(max_len=8).eval()
    src, tgt, lengths = batch()
    with pytest.raises(ValueError, match="max_len=8"):
        model(torch.zeros(1, 9, dtype=torch.long), tgt[:1])
    memory, state = model.encode(src, lengths), None
    for t in range(8):
        _, state = model.decode_step(memory, tgt[:, 0], state, t)
    with pytest.raises(ValueError, match="max_len=8"):
        model.decode_step(memory, tgt[:, 0], state, 8)


def test_decode_step_refuses_a_cache_of_another_step() -> None:
    model = tiny().eval()
    src, tgt, lengths = batch()
    memory = model.encode(src, lengths)
    _, state = model.decode_step(memory, tgt[:, 0], None, 0)
    with pytest.raises(ValueError, match="cache of 1 positions"):
        model.decode_step(memory, tgt[:, 1], state, 2)


def test_bad_attention_names_the_choices() -> None:
    with pytest.raises(ValueError, match="fused, reference"):
        tiny(attention="flash")

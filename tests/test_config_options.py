"""Every option GPT2Config offers for GPT-2 is traced exactly (every stage equals Hugging Face's) or
refused in one sentence that names it: a lecturer's own checkpoint is never traced wrong in silence."""

from __future__ import annotations

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

import gpt2lab
from gpt2lab.model.config import ACTIVATIONS
from gpt2lab.errors import LabError
from gpt2lab.model.mlp import ACTIVATION_FUNCTIONS

from helpers import assert_stage_close, byte_level_tokenizer, hf_reference

SHAPE = dict(n_layer=3, n_head=4, n_embd=32, n_positions=32, vocab_size=400)


def option_lab(seed=0, **options):
    """A random GPT-2 with ``options`` set in its GPT2Config, weights scaled so attention is not uniform."""
    config = GPT2Config(**{**SHAPE, **options}, bos_token_id=0, eos_token_id=0, attn_implementation="eager")
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config).eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("wte.weight", "wpe.weight", "lm_head.weight")):
                p.copy_(torch.randn(p.shape, generator=gen))
            elif p.dim() == 2:
                p.copy_(1.5 * torch.randn(p.shape, generator=gen) / p.shape[0] ** 0.5)
            elif "ln" in name and name.endswith("weight"):
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
    return gpt2lab.Lab(model, byte_level_tokenizer(400), name="options", device="cpu")


def assert_every_stage_matches(lab, tol=1e-5):
    ids = torch.randint(0, lab.config.vocab_size, (17,), generator=torch.Generator().manual_seed(1))
    trace = lab.trace(ids)
    ref, _ = hf_reference(lab, ids)
    compared = [name for name in trace.names if name in ref]
    assert len(compared) == len(trace.names) - lab.config.n_layer  # all but attn.scores, which HF does not return
    for name in compared:
        assert_stage_close(trace[name], ref[name], name, tol)


OPTIONS = [
    dict(n_inner=48),  # an MLP 1.5x wide instead of 4x
    dict(n_inner=200),
    dict(scale_attn_weights=False),
    dict(scale_attn_by_inverse_layer_idx=True),
    dict(scale_attn_weights=False, scale_attn_by_inverse_layer_idx=True),
    dict(reorder_and_upcast_attn=True),
    dict(tie_word_embeddings=False),
    dict(layer_norm_epsilon=1e-2),
    dict(layer_norm_epsilon=1e-12),
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_each_option_is_traced_exactly(options):
    lab = option_lab(**options)
    assert_every_stage_matches(lab)
    if options.get("tie_word_embeddings") is False:  # the head really is a matrix of its own
        assert lab.weights.unembedding.data_ptr() != lab.weights.token_embedding.data_ptr()
        assert not torch.allclose(lab.hf_model.lm_head.weight, lab.hf_model.transformer.wte.weight)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_hugging_face_accepts_is_traced_exactly(activation):
    assert_every_stage_matches(option_lab(activation_function=activation))


def test_the_activation_table_covers_hugging_faces_and_equals_it():
    from transformers.activations import ACT2CLS, ACT2FN

    refused = {"prelu", "xielu"}  # learned parameters of their own: no place for them in GPT-2's MLP
    assert set(ACT2CLS) - refused == set(ACTIVATION_FUNCTIONS)
    x = torch.linspace(-12, 12, 2001)
    for name, fn in ACTIVATION_FUNCTIONS.items():
        torch.testing.assert_close(fn(x), ACT2FN[name](x), atol=1e-6, rtol=1e-5, msg=name)


@pytest.mark.parametrize("activation", ["prelu", "xielu"])
def test_an_activation_with_parameters_is_refused_by_name(activation):
    config = GPT2Config(**SHAPE, activation_function=activation)
    with pytest.raises(LabError, match=f"activation_function='{activation}'"):
        gpt2lab.ModelConfig.from_hf(config)


def test_cross_attention_is_refused_by_name():
    with pytest.raises(LabError, match="add_cross_attention=True"):
        gpt2lab.ModelConfig.from_hf(GPT2Config(**SHAPE, add_cross_attention=True))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["fp16", "bf16"])
def test_half_precision_weight_files_load_and_trace_exactly(dtype, tmp_path):
    lab = option_lab(seed=3)
    lab.hf_model.to(dtype).save_pretrained(tmp_path)
    lab.tokenizer.save_pretrained(tmp_path)
    loaded = gpt2lab.load(tmp_path)
    assert loaded.weights.token_embedding.dtype == torch.float32  # the lessons compute in float32
    assert_every_stage_matches(loaded)
    # the float32 numbers are the file's numbers: nothing was lost but what the file never held
    assert torch.equal(loaded.weights.token_embedding, lab.hf_model.transformer.wte.weight.float())

"""Shared test helpers: random GPT-2s of several shapes, built offline from GPT2Config."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network

import pytest
import torch

# (n_layer, n_head, d_model, n_ctx, vocab_size): shapes that differ in every axis.
RANDOM_SHAPES = [
    (1, 1, 8, 16, 300),
    (2, 4, 32, 64, 512),
    (3, 2, 48, 40, 1000),
    (4, 8, 64, 128, 2048),
    (2, 3, 24, 24, 777),
]


def byte_level_tokenizer(vocab_size: int):
    """A small byte-level BPE tokenizer (GPT-2's algorithm) trained in memory, wrapped as GPT2TokenizerFast."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2TokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    text = ["The cat sat on the mat. The dog sat on the log. Attention is all you need."] * 20
    tok.train_from_iterator(text, trainer)
    fast = GPT2TokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>")
    assert len(fast) > 1
    return fast


def random_hf_model(n_layer, n_head, d_model, n_ctx, vocab_size, seed=0, activation="gelu_new"):
    """A GPT2LMHeadModel with weights large enough that attention is far from uniform."""
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        n_layer=n_layer, n_head=n_head, n_embd=d_model, n_positions=n_ctx, vocab_size=vocab_size,
        activation_function=activation, bos_token_id=0, eos_token_id=0, attn_implementation="eager",
    )
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config).eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=gen))
            elif name.endswith("wte.weight") or name.endswith("wpe.weight"):
                p.copy_(torch.randn(p.shape, generator=gen))
            elif p.dim() == 2:  # Conv1D weights are (d_in, d_out)
                p.copy_(1.5 * torch.randn(p.shape, generator=gen) / p.shape[0] ** 0.5)
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
    return model


def random_lab(shape, seed=0, activation="gelu_new"):
    import gpt2lab

    model = random_hf_model(*shape, seed=seed, activation=activation)
    return gpt2lab.Lab(model, byte_level_tokenizer(min(shape[-1], 400)), name=f"random{shape}", device="cpu")


@pytest.fixture(params=RANDOM_SHAPES, ids=lambda s: "L{}H{}D{}C{}V{}".format(*s))
def any_random_lab(request):
    return random_lab(request.param)


def assert_stage_close(actual, expected, name="", tol=1e-5):
    """Equal to ``tol`` of the tensor's own scale: |a - e| <= tol * max(1, max|e|) everywhere.

    float32 sums in a different order differ in the last bits; a value of 30 carries about 2e-6 of such
    noise, so the bound grows with the values compared (and is plain 1e-5 for values up to 1).
    """
    assert actual.shape == expected.shape, f"{name}: shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    scale = max(1.0, expected.abs().max().item())
    torch.testing.assert_close(actual, expected, atol=tol * scale, rtol=0, msg=lambda m: f"{name}: {m}")

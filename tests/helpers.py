"""Shared test helpers: random GPT-2s of several shapes built offline from GPT2Config, Hugging Face's
values for every stage (the oracle), and a tolerance that follows each tensor's scale.

Tests import these with ``from helpers import ...``; conftest.py only holds fixtures."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network

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


def assert_stage_close(actual, expected, name="", tol=1e-5):
    """Equal to ``tol`` of the tensor's own scale: |a - e| <= tol * max(1, max|e|) everywhere.

    float32 sums in a different order differ in the last bits; a value of 30 carries about 2e-6 of such
    noise, so the bound grows with the values compared (and is plain 1e-5 for values up to 1).
    """
    assert actual.shape == expected.shape, f"{name}: shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    scale = max(1.0, expected.abs().max().item())
    torch.testing.assert_close(actual, expected, atol=tol * scale, rtol=0, msg=lambda m: f"{name}: {m}")


def hf_reference(lab, ids):
    """Hugging Face's values for every stage, from outputs and forward hooks on its submodules."""
    model = lab.hf_model
    ref, hooks = {}, []
    tr = model.transformer
    d, n_head = lab.config.d_model, lab.config.n_head

    def keep(name, fn=lambda out: out):
        return lambda mod, args, out: ref.__setitem__(name, fn(out)[0].detach().clone())

    def keep_input(name):
        return lambda mod, args: ref.__setitem__(name, args[0][0].detach().clone())

    heads = lambda x: x.view(x.shape[0], n_head, d // n_head).transpose(0, 1)  # noqa: E731
    hooks.append(tr.wte.register_forward_hook(lambda m, a, out: ref.__setitem__("embed", out[0].clone())))
    hooks.append(tr.wpe.register_forward_hook(lambda m, a, out: ref.__setitem__("pos_embed", out[0].clone())))
    for i, h in enumerate(tr.h):
        p = f"blocks.{i}."
        hooks.append(h.register_forward_pre_hook(keep_input(p + "resid_pre")))
        hooks.append(h.ln_1.register_forward_hook(keep(p + "ln1")))
        hooks.append(h.attn.c_attn.register_forward_hook(keep(p + "qkv")))
        hooks.append(h.attn.c_proj.register_forward_pre_hook(keep_input(p + "z_merged")))
        hooks.append(h.attn.register_forward_hook(keep(p + "attn_out", lambda out: out[0])))
        hooks.append(h.ln_2.register_forward_pre_hook(keep_input(p + "resid_mid")))
        hooks.append(h.ln_2.register_forward_hook(keep(p + "ln2")))
        hooks.append(h.mlp.c_fc.register_forward_hook(keep(p + "mlp.pre")))
        hooks.append(h.mlp.act.register_forward_hook(keep(p + "mlp.post")))
        hooks.append(h.mlp.register_forward_hook(keep(p + "mlp_out")))
        hooks.append(h.register_forward_hook(keep(p + "resid_post", lambda out: out[0] if isinstance(out, tuple) else out)))
    hooks.append(tr.ln_f.register_forward_hook(keep("ln_final")))
    try:
        with torch.no_grad():
            out = model(torch.as_tensor(ids)[None], output_hidden_states=True, output_attentions=True)
    finally:
        for hk in hooks:
            hk.remove()
    for i in range(lab.config.n_layer):
        p = f"blocks.{i}."
        q, k, v = ref.pop(p + "qkv").split(d, dim=-1)
        ref[p + "attn.q"], ref[p + "attn.k"], ref[p + "attn.v"] = heads(q), heads(k), heads(v)
        z = ref.pop(p + "z_merged")
        ref[p + "attn.z"] = heads(z)
        ref[p + "attn.pattern"] = out.attentions[i][0]
        assert torch.equal(out.hidden_states[i][0], ref[p + "resid_pre"])
    ref["logits"] = out.logits[0]
    return ref, out

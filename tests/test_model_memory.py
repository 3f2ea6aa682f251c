"""Memory, estimated before it is allocated, and training that fits the memory at hand.

The estimates (gpt2lab.analysis.model_sizes) are checked against what is really held: a trace's bytes
against ``Trace.nbytes()``, the training activations against the tensors autograd saves (counted with
``torch.autograd.graph.saved_tensors_hooks``). The plans (gpt2lab.training.memory_plan) are checked by
giving a fine-tune and a classifier a memory budget too small for the whole model: they train the top
blocks only, say so in one sentence, and leave the lab, and the blocks they did not train, exactly as
they were (sharing the lab's memory).
"""

from __future__ import annotations

import pytest
import torch

from helpers import random_lab
from gpt2lab.analysis.model_sizes import (FAMILY, available_memory, kv_cache_bytes, memory_needed, trace_bytes,
                                          training_bytes)
from gpt2lab.errors import LabError
from gpt2lab.training.classify import build_classifier, classifier_plan, load_dataset, train_classifier, ClassifyConfig
from gpt2lab.training.finetune import FineTuneConfig, finetune_lm, finetune_plan, shipped_text
from gpt2lab.training.losses import next_token_losses
from gpt2lab.training.memory_plan import plan_training

SHAPE = (4, 4, 64, 128, 300)  # blocks hold most of the memory here, as in a real GPT-2 (small vocabulary)
TEXT = shipped_text("kittiwake_log")
SMALL = FineTuneConfig(block_size=32, batch_size=4, max_steps=3, eval_every=3)


@pytest.fixture(scope="module")
def lab():
    return random_lab(SHAPE)


def test_trace_bytes_are_what_a_trace_holds(lab):
    ids = torch.arange(40) % lab.config.vocab_size
    for keep in (None, ["logits"], ["blocks.*.attn.pattern", "embed"], []):
        assert trace_bytes(lab.config, 40, keep) == lab.trace(ids, keep=keep).nbytes()
    assert trace_bytes("gpt2", 1024) == 2_140_475_392  # 1.99 GiB: GPT-2 small, 1,024 tokens, every stage
    assert kv_cache_bytes("gpt2-xl", 1024) == 4 * 2 * 48 * 1024 * 1600


def test_memory_needed_adds_weights_trace_and_working_memory():
    need = memory_needed("gpt2-xl", tokens=64)
    assert need.parts["weights"] == 4 * 1_557_611_200
    assert need.total == sum(need.parts.values()) and str(need).startswith("weights 5.80 GiB + trace of 64 tokens")
    assert "weights" not in memory_needed(FAMILY["gpt2"], weights=False).parts
    with pytest.raises(LabError, match="no GPT-2 size called"):
        memory_needed("gpt2-huge")


def test_the_activation_estimate_matches_what_autograd_saves(lab):
    """Every tensor autograd keeps for the backward pass of gpt2lab's training forward, counted once."""
    model = lab.hf_model
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    for B, T in [(2, 32), (4, 64)]:
        saved = {}

        def pack(t):
            if t.untyped_storage().data_ptr() not in params:
                saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        windows = torch.randint(0, lab.config.vocab_size, (B, T + 1), generator=torch.Generator().manual_seed(0))
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            next_token_losses(model, windows, train=True).mean()
        estimate = training_bytes(lab.config, batch_size=B, block_size=T).parts["activations"]
        assert sum(saved.values()) <= estimate <= 1.6 * sum(saved.values())


def test_available_memory_is_a_number_on_the_cpu():
    free = available_memory("cpu")
    assert free is None or 0 < free < 2**50


def test_the_plan_trains_every_weight_when_it_fits_and_the_top_blocks_when_not(lab):
    c = lab.config
    whole = training_bytes(c, batch_size=4, block_size=32).total
    plan = plan_training(c, batch_size=4, block_size=32, budget=whole, name="m")
    assert plan.everything and not plan.changed and str(plan).startswith("Training every weight needs about")
    two = training_bytes(c, batch_size=4, block_size=32, trained_blocks=2).total
    plan = plan_training(c, batch_size=4, block_size=32, budget=two, name="m", where="cpu")
    assert plan.trained_blocks == 2 and plan.need <= two
    assert plan.note.startswith("Fine-tuning every weight of m needs about") and "top 2 of its 4 blocks" in plan.note
    one_short = training_bytes(c, batch_size=4, block_size=16, trained_blocks=1).total
    plan = plan_training(c, batch_size=4, block_size=32, budget=one_short, name="m")
    assert (plan.trained_blocks, plan.block_size) == (1, 16) and "windows of 16 tokens" in plan.note
    with pytest.raises(LabError, match="too little to train even one block"):
        plan_training(c, batch_size=4, block_size=32, budget=1000, name="m")
    # gpt2-xl on a 15 GiB GPU, after its 5.8 GiB of weights: the top blocks, never an out-of-memory error
    xl = plan_training(FAMILY["gpt2-xl"], batch_size=8, block_size=64, budget=int(0.9 * (15 - 5.8) * 2**30), name="gpt2-xl")
    assert 1 <= xl.trained_blocks < 48 and "top" in xl.note


def test_a_fine_tune_over_budget_trains_the_top_blocks_and_leaves_the_rest_shared(lab):
    before = {name: p.detach().clone() for name, p in lab.hf_model.named_parameters()}
    budget = training_bytes(lab.config, batch_size=4, block_size=32, trained_blocks=2).total
    assert finetune_plan(lab, SMALL, budget).trained_blocks == 2
    result = finetune_lm(lab, TEXT, SMALL, progress=False, memory_budget=budget)
    assert result.plan.trained_blocks == 2 and result.summary().startswith(result.plan.note)
    tuned = dict(result.lab.hf_model.named_parameters())
    lab_params = dict(lab.hf_model.named_parameters())
    for name, p in lab_params.items():
        assert torch.equal(p, before[name])  # the lab is as it was
        top = name.startswith(("transformer.h.2.", "transformer.h.3.", "transformer.ln_f."))
        same_memory = tuned[name].data_ptr() == p.data_ptr()
        assert same_memory != top, name  # untrained weights share the lab's memory; trained ones have their own
        assert torch.equal(tuned[name], p) != top, name  # AdamW moves every trained weight, and only those
    assert all(p.requires_grad for p in result.lab.hf_model.parameters())


def test_a_resumed_fine_tune_trains_what_the_interrupted_one_trained(lab, tmp_path):
    config = FineTuneConfig(block_size=32, batch_size=4, max_steps=4, eval_every=2)
    budget = training_bytes(lab.config, batch_size=4, block_size=32, trained_blocks=1).total
    whole = finetune_lm(lab, TEXT, config, progress=False, memory_budget=budget)
    finetune_lm(lab, TEXT, config, checkpoint_dir=tmp_path, stop_at_step=2, progress=False, memory_budget=budget)
    rest = finetune_lm(lab, TEXT, config, checkpoint_dir=tmp_path, resume=True, progress=False)  # plenty free now
    assert rest.plan == whole.plan and rest.plan.trained_blocks == 1
    for (name, a), b in zip(whole.lab.hf_model.named_parameters(), rest.lab.hf_model.parameters()):
        assert torch.equal(a, b), name


def test_running_out_of_memory_anyway_is_one_sentence(lab, monkeypatch):
    import gpt2lab.training.finetune as finetune

    def no_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(finetune, "optimizer_step", no_memory)
    with pytest.raises(LabError, match="Fine-tuning ran out of memory on cpu"):
        finetune_lm(lab, TEXT, SMALL, progress=False)


def test_a_classifier_over_budget_trains_the_top_blocks_and_the_head(lab):
    data = load_dataset("topics")
    before = {name: p.detach().clone() for name, p in lab.hf_model.named_parameters()}
    clf = build_classifier(lab, data.classes)
    assert all(a.data_ptr() == b.data_ptr() for a, b in zip(clf.model.transformer.parameters(),
                                                            lab.hf_model.transformer.parameters()))  # no second copy
    examples = data.train[:16]
    config = ClassifyConfig(epochs=1, batch_size=8)
    whole = classifier_plan(clf, examples, config)
    assert whole.everything
    budget = training_bytes(lab.config, batch_size=8, block_size=whole.block_size, trained_blocks=1, vocab_logits=False).total
    plan = classifier_plan(clf, examples, config, budget)
    assert plan.trained_blocks == 1 and "top 1 of its 4 blocks" in plan.note and "score head" in plan.note
    head = clf.model.score.weight.detach().clone()
    train_classifier(clf, examples, config, progress=False, plan=plan)
    assert clf.plan is plan and not torch.equal(clf.model.score.weight, head)
    for name, p in lab.hf_model.named_parameters():
        assert torch.equal(p, before[name]), name
    body = dict(clf.model.transformer.named_parameters())
    assert not torch.equal(body["h.3.mlp.c_fc.weight"], before["transformer.h.3.mlp.c_fc.weight"])
    assert torch.equal(body["h.0.mlp.c_fc.weight"], before["transformer.h.0.mlp.c_fc.weight"])
    head_only = classifier_plan(clf, examples, ClassifyConfig(freeze_body=True))
    assert head_only.trained_blocks == 0 and not head_only.changed

"""Why this token: surprisal, direct logit attribution, head ablation and activation patching, each
checked against Hugging Face's GPT-2 on random configs of several shapes and on the embedded model."""

from __future__ import annotations

import copy
import math

import pytest
import torch

import gpt2lab
from gpt2lab.analysis.attribution import direct_logit_attribution
from gpt2lab.analysis.patching import patch_residual
from gpt2lab.analysis.surprisal import rank_bucket

from helpers import RANDOM_SHAPES, assert_stage_close, random_lab

SHAPE_IDS = lambda s: "L{}H{}D{}C{}V{}".format(*s)  # noqa: E731
TEXT = "It is a truth universally acknowledged, that a single man in possession of a good fortune"


@pytest.fixture(scope="module")
def tiny():
    return gpt2lab.load("tiny")


def random_ids(lab, T, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, lab.config.vocab_size, (min(T, lab.config.n_ctx),), generator=gen)


def hf_logits(model, ids):
    with torch.no_grad():
        return model(torch.as_tensor(ids)[None]).logits[0]


# --- surprisal ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", RANDOM_SHAPES, ids=SHAPE_IDS)
def test_surprisal_is_the_softmax_of_hf_logits_at_the_previous_position(shape):
    lab = random_lab(shape)
    ids = random_ids(lab, 12, seed=1)
    s = lab.surprisal(ids, top_k=3)
    out = lab.hf_model(ids[None], labels=ids[None])
    probs = torch.softmax(out.logits[0, :-1].detach(), dim=-1)  # (T - 1, vocab)
    expected = probs[torch.arange(len(ids) - 1), ids[1:]]
    torch.testing.assert_close(s.probs, expected, atol=1e-6, rtol=1e-4)
    expected_ranks = (probs > expected[:, None]).sum(-1) + 1
    assert s.ranks.tolist() == expected_ranks.tolist()
    assert math.isclose(s.perplexity, math.exp(out.loss.item()), rel_tol=1e-5)
    torch.testing.assert_close(s.top_probs, probs.topk(3, dim=-1).values, atol=1e-6, rtol=1e-4)
    assert len(s.tokens) == len(ids) and s.probs.shape == (len(ids) - 1,)


def test_surprisal_on_the_embedded_model(tiny):
    s = tiny.surprisal(TEXT)
    ids = torch.tensor(tiny.encode(TEXT))
    out = tiny.hf_model(ids[None], labels=ids[None])
    probs = torch.softmax(out.logits[0, :-1].detach(), dim=-1)
    expected = probs[torch.arange(len(ids) - 1), ids[1:]]
    torch.testing.assert_close(s.probs, expected, atol=1e-6, rtol=1e-4)
    assert s.ranks.tolist() == ((probs > expected[:, None]).sum(-1) + 1).tolist()
    assert math.isclose(s.perplexity, math.exp(out.loss.item()), rel_tol=1e-5)
    # the trained model knows Austen's opening: most of its tokens are in the top 10
    assert sum(b == 0 for b in s.buckets()) > len(s.buckets()) / 2
    assert s.top_ids[s.ranks == 1, 0].tolist() == ids[1:][s.ranks == 1].tolist()


def test_rank_buckets_and_surprisal_errors(tiny):
    assert [rank_bucket(r) for r in (1, 10, 11, 100, 101, 1000, 1001, 50000)] == [0, 0, 1, 1, 2, 2, 3, 3]
    with pytest.raises(gpt2lab.LabError, match="two tokens"):
        tiny.surprisal("A")
    with pytest.raises(gpt2lab.LabError, match="empty"):
        tiny.surprisal("")


# --- direct logit attribution --------------------------------------------------------------------------------


def assert_attribution_adds_up(lab, ids, position, token_id):
    trace = lab.trace(ids)
    a = direct_logit_attribution(lab, trace, position, token_id)
    c = lab.config
    assert len(a.shares) == 1 + c.n_layer * (c.n_head + 2)
    logit = trace.logits[position, token_id].item()
    scale = max(1.0, abs(logit), a.shares.abs().sum().item())
    assert abs(a.total() - logit) <= 2e-5 * scale, (a.total(), logit)
    assert math.isclose(a.logit, logit, rel_tol=0, abs_tol=1e-6)
    assert math.isclose(a.logit, hf_logits(lab.hf_model, ids)[position, token_id].item(), abs_tol=1e-4 * max(1, abs(logit)))
    return a, trace


@pytest.mark.parametrize("shape", RANDOM_SHAPES, ids=SHAPE_IDS)
def test_attribution_shares_add_up_to_the_logit(shape):
    lab = random_lab(shape)
    ids = random_ids(lab, 10, seed=2)
    for position in (0, -1):
        for token_id in (0, int(lab.trace(ids).logits[position].argmax()), lab.config.vocab_size - 1):
            assert_attribution_adds_up(lab, ids, position, token_id)


def test_each_head_share_is_its_z_through_its_slice_of_the_projection():
    lab = random_lab((2, 4, 32, 64, 512))
    ids = random_ids(lab, 8, seed=3)
    a, trace = assert_attribution_adds_up(lab, ids, 5, 7)
    # the heads' outputs plus the bias rebuild attn_out
    from gpt2lab.analysis.attribution import head_outputs

    for layer, block in enumerate(lab.weights.blocks):
        rebuilt = head_outputs(trace["attn.z", layer], block.out_weight).sum(0) + block.out_bias
        assert_stage_close(rebuilt, trace["attn_out", layer], f"attn_out {layer}")
    # a head's share, by hand: centre, divide by the frozen std, times ln_f weight, dot the unembedding row
    w, c = lab.weights, lab.config
    resid = trace["resid_post", -1][5]
    std = (resid.var(unbiased=False) + c.layer_norm_eps).sqrt()
    d_head = c.d_model // c.n_head
    out = trace["attn.z", 1][2, 5] @ w.blocks[1].out_weight[2 * d_head:3 * d_head]
    by_hand = ((out - out.mean()) / std * w.ln_final_weight) @ w.unembedding[7]
    assert math.isclose(float(a.shares[a.labels.index("L1 H2")]), float(by_hand.detach()), rel_tol=1e-5, abs_tol=1e-6)
    assert a.head_grid()[1, 2] == a.shares[a.labels.index("L1 H2")]


def test_attribution_with_an_untied_head():
    lab = random_lab((2, 4, 32, 64, 512), seed=4)
    model = lab.hf_model
    model.config.tie_word_embeddings = False
    model.lm_head.weight = torch.nn.Parameter(torch.randn(model.lm_head.weight.shape, generator=torch.Generator().manual_seed(9)))
    lab = gpt2lab.Lab(model, lab.tokenizer, name="untied", device="cpu")
    assert not torch.equal(lab.weights.unembedding, lab.weights.token_embedding)
    ids = random_ids(lab, 9, seed=5)
    torch.testing.assert_close(lab.trace(ids).logits, hf_logits(model, ids), atol=1e-4, rtol=1e-4)
    assert_attribution_adds_up(lab, ids, -1, 11)


def test_attribution_on_the_embedded_model(tiny):
    ids = torch.tensor(tiny.encode(TEXT))
    trace = tiny.trace(ids)
    top = int(trace.logits[-1].argmax())
    a, _ = assert_attribution_adds_up(tiny, ids, -1, top)
    assert a.token == tiny.token_strings([top])[0]
    assert len(a.top(5)) == 5 and abs(a.top(5)[0][1]) >= abs(a.top(5)[-1][1])
    with pytest.raises(gpt2lab.LabError, match="outside this trace"):
        direct_logit_attribution(tiny, trace, len(ids), top)
    with pytest.raises(gpt2lab.LabError, match="keep=None"):
        direct_logit_attribution(tiny, tiny.trace(ids, keep=["logits"]), -1, top)


# --- ablation ------------------------------------------------------------------------------------------------


def hf_with_head_removed(model, heads, n_head):
    """Hugging Face's model with each head's rows of c_proj's weight zeroed: exactly zero ablation."""
    model = copy.deepcopy(model)
    d_head = model.config.n_embd // n_head
    with torch.no_grad():
        for layer, head in heads:
            model.transformer.h[layer].attn.c_proj.weight[head * d_head:(head + 1) * d_head] = 0
    return model


@pytest.mark.parametrize("shape", RANDOM_SHAPES, ids=SHAPE_IDS)
def test_zero_ablation_equals_hf_with_the_heads_slice_of_c_proj_zeroed(shape):
    lab = random_lab(shape)
    c = lab.config
    ids = random_ids(lab, 10, seed=6)
    heads = [(c.n_layer - 1, c.n_head - 1)] + ([(0, 0)] if c.n_layer > 1 else [])
    ablated = lab.trace(ids, ablate_heads=heads)
    expected = hf_logits(hf_with_head_removed(lab.hf_model, heads, c.n_head), ids)
    assert_stage_close(ablated.logits, expected, "ablated logits", tol=2e-5)
    assert not torch.allclose(ablated.logits, lab.trace(ids).logits)


def test_ablating_a_head_changes_only_what_follows_it(tiny):
    ids = torch.tensor(tiny.encode(TEXT))
    clean = tiny.trace(ids)
    for how in ("zero", "mean"):
        ablated = tiny.trace(ids, ablate_heads=[(2, 1)], ablation=how)
        names = clean.names
        first_changed = names.index("blocks.2.attn.z")
        for name in names[:first_changed]:
            assert torch.equal(ablated[name], clean[name]), name
        for name in ("blocks.2.attn.z", "blocks.2.attn_out", "blocks.2.resid_post", "logits"):
            assert not torch.equal(ablated[name], clean[name]), name
        z, z0 = ablated["attn.z", 2], clean["attn.z", 2]
        assert torch.equal(z[[0, 2, 3]], z0[[0, 2, 3]])  # the other heads are untouched
        if how == "zero":
            assert torch.equal(z[1], torch.zeros_like(z[1]))
        else:
            torch.testing.assert_close(z[1], z0[1].mean(0, keepdim=True).expand_as(z[1]))
    # a zero-ablated head's contribution to attn_out is exactly what zeroing its z gives
    zeroed = clean["attn.z", 2].clone()
    zeroed[1] = 0
    w = tiny.weights.blocks[2]
    from gpt2lab.model.attention import output_projection

    ablated = tiny.trace(ids, ablate_heads=[(2, 1)])
    assert torch.equal(ablated["attn_out", 2], output_projection(zeroed, w.out_weight, w.out_bias))


def test_mean_ablation_of_a_head_whose_z_is_constant_changes_nothing():
    lab = random_lab((2, 4, 32, 64, 512), seed=8)
    c = lab.config
    d_head = c.d_model // c.n_head
    # head 1 of block 1 gets value weights of zero: its values are its bias, the same at every position,
    # so its z (a weighted mean of equal values) is constant over the sequence
    columns = slice(2 * c.d_model + d_head, 2 * c.d_model + 2 * d_head)
    with torch.no_grad():
        lab.weights.blocks[1].qkv_weight[:, columns] = 0
    ids = random_ids(lab, 10, seed=9)
    clean = lab.trace(ids)
    z = clean["attn.z", 1][1]
    assert torch.allclose(z, z[:1].expand_as(z), atol=1e-6) and z.abs().max() > 0.01
    mean = lab.trace(ids, ablate_heads=[(1, 1)], ablation="mean")
    assert_stage_close(mean.logits, clean.logits, "mean-ablated logits")
    zero = lab.trace(ids, ablate_heads=[(1, 1)], ablation="zero")
    assert not torch.allclose(zero.logits, clean.logits, atol=1e-3)  # zeroing it still changes the output


def test_ablation_errors(tiny):
    for bad in ([(4, 0)], [(0, 4)], [(-1, 0)], [(0.5, 1)], ["L0H0"], [(0, 1, 2)]):
        with pytest.raises(gpt2lab.LabError):
            tiny.trace("The cat", ablate_heads=bad)
    with pytest.raises(gpt2lab.LabError, match="No stage"):
        tiny.trace("The cat", edits={"blocks.9.attn.z": lambda z: z})
    with pytest.raises(gpt2lab.LabError, match="kind of ablation"):
        tiny.trace("The cat", ablate_heads=[(0, 0)], ablation="resample")


# --- activation patching -------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", RANDOM_SHAPES[1:], ids=SHAPE_IDS)
def test_patching_the_last_stream_at_the_last_position_recovers_everything(shape):
    lab = random_lab(shape)
    clean = random_ids(lab, 7, seed=7)
    corrupted = clean.clone()
    corrupted[2] = (corrupted[2] + 1) % lab.config.vocab_size
    logits = lab.trace(clean).logits[-1]
    answer, wrong = int(logits.argmax()), int(logits.argmin())
    result = patch_residual(lab, clean, corrupted, answer, wrong)
    n_layer, T = lab.config.n_layer, len(clean)
    assert result.recovered.shape == (n_layer + 1, T)
    assert math.isclose(float(result.recovered[-1, -1]), 1.0, abs_tol=1e-4)
    # the embeddings of positions other than 2 are the same in both runs: patching them changes nothing
    assert torch.allclose(result.recovered[0, [0, 1, 3, 4, 5, 6]], torch.zeros(6), atol=1e-4)
    # after the last block, only the last position reaches the logits
    assert torch.allclose(result.recovered[-1, :-1], torch.zeros(T - 1), atol=1e-4)
    # every cell, against a Hugging Face run with the same vector patched in by a hook
    row, position = 1, 2
    vector = lab.trace(clean)["resid_post", 0][position]

    def patch(module, args, out):
        hidden = out[0] if isinstance(out, tuple) else out
        hidden = hidden.clone()
        hidden[0, position] = vector
        return (hidden,) + tuple(out[1:]) if isinstance(out, tuple) else hidden

    hook = lab.hf_model.transformer.h[0].register_forward_hook(patch)
    try:
        hf = hf_logits(lab.hf_model, corrupted)[-1]
    finally:
        hook.remove()
    assert math.isclose(float(result.patched_diff[row, position]), float(hf[answer] - hf[wrong]), abs_tol=1e-3)
    # the cells before the first difference are not run; a real patched run there agrees (lab.trace's edits)
    clean_trace = lab.trace(clean)
    for stage in result.stages:
        def put(stream, stage=stage):
            stream = stream.clone()
            stream[1] = clean_trace[stage][1]
            return stream
        logits = lab.trace(corrupted, edits={stage: put}).logits[-1]
        assert math.isclose(float(logits[answer] - logits[wrong]), result.corrupted_diff, abs_tol=1e-4)
        assert result.recovered[result.stages.index(stage), 1] == 0


def test_patching_on_the_embedded_model(tiny):
    clean = "When Mary and John went to the store, John gave a drink to"
    corrupted = "When Mary and John went to the store, Mary gave a drink to"
    result = patch_residual(tiny, clean, corrupted, " Mary", " John")
    assert result.recovered.shape == (5, 14)
    # positions before the changed token (9) are the same in both runs, in every row
    assert torch.allclose(result.recovered[:, :9], torch.zeros(5, 9), atol=1e-4)
    assert math.isclose(float(result.recovered[-1, -1]), 1.0, abs_tol=1e-4)
    assert result.rows[0] == "embeddings" and result.stages[1] == "blocks.0.resid_post"
    with pytest.raises(gpt2lab.LabError, match="same token length"):
        patch_residual(tiny, "The cat sat", "The cat sat down", " on", " in")
    with pytest.raises(gpt2lab.LabError, match="exactly one"):
        patch_residual(tiny, "The cat sat", "The dog sat", " on the", " in")
    with pytest.raises(gpt2lab.LabError, match="same token"):
        patch_residual(tiny, "The cat sat", "The dog sat", " on", " on")


# --- the notebook's exercise checkers --------------------------------------------------------------------------


def test_exercise_checkers_accept_natural_answers(tiny):
    import gpt2lab.exercises.why_this_token as ex

    assert not ex.check_probability_by_hand(tiny, TEXT, 5, None).answered
    ids = tiny.encode(TEXT)
    logits = tiny.trace(TEXT).logits
    right = torch.softmax(logits[4], -1)[ids[5]]
    assert ex.check_probability_by_hand(tiny, TEXT, 5, right) and ex.check_probability_by_hand(tiny, TEXT, 5, float(right))
    assert float(right) == pytest.approx(float(tiny.surprisal(TEXT).probs[4]), rel=1e-5)
    off_by_one = ex.check_probability_by_hand(tiny, TEXT, 5, torch.softmax(logits[5], -1)[ids[5]])
    assert not off_by_one and "position before" in off_by_one.message
    assert not ex.check_probability_by_hand(tiny, TEXT, 5, "half")

    a = direct_logit_attribution(tiny, tiny.trace(TEXT), -1, int(logits[-1].argmax()))
    grid = a.head_grid()
    layer, head = divmod(int(grid.argmax()), grid.shape[1])
    for answer in ((layer, head), [layer, head], f"L{layer} H{head}", f"layer {layer}, head {head}"):
        assert ex.check_top_head(a, answer), answer
    assert not ex.check_top_head(a, ((layer + 1) % 4, head)) and not ex.check_top_head(a, "the big one")
    assert not ex.check_top_head(a, None).answered

    result = patch_residual(tiny, "When Mary and John went to the store, John gave a drink to",
                            "When Mary and John went to the store, Mary gave a drink to", " Mary", " John")
    assert ex.check_patching_peak(result, 9) and ex.check_patching_peak(result, " John")
    same = ex.check_patching_peak(result, 3)
    assert not same and "same token" in same.message
    assert not ex.check_patching_peak(result, " Elizabeth") and not ex.check_patching_peak(result, None).answered

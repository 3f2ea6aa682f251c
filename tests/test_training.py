"""The training CLI: a few steps on a corpus slice write a loadable folder; resume is exact;
the truncated tokenizer keeps GPT-2's ids; the committed model's card figures reproduce."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import GPT2LMHeadModel, GPT2TokenizerFast

from data.tokenizer_corpus import CORPUS

pytest.importorskip("rdata")  # the corpus reader: pip install gpt2lab[train]

from gpt2lab.training import pretrain as train_cli  # noqa: E402
from gpt2lab.training.evaluate import evaluate_folder  # noqa: E402
from gpt2lab.training.small_tokenizer import GPT2_FOLDER, write_truncated_tokenizer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "gpt2lab" / "assets" / "tiny"
# a CI-sized run: 20k characters of Austen, a 1-layer 64-wide model, 64-token context
SMALL = ["--slice-chars", "20000", "--n-layer", "1", "--n-embd", "64", "--n-head", "2", "--n-positions", "64",
         "--batch-size", "4", "--warmup-steps", "2", "--eval-every", "2", "--eval-tokens", "256"]


def run(tmp: Path, name: str, *extra: str) -> None:
    train_cli.main(SMALL + ["--out", str(tmp / f"{name}-out"), "--run-dir", str(tmp / f"{name}-run"), *extra])


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train")
    run(tmp, "a", "--max-steps", "6")
    return tmp


def test_folder_is_loadable(straight):
    out = straight / "a-out"
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "vocab.json", "merges.txt", "MODEL_CARD.md", "metrics.json", "loss_curve.png"} <= names
    assert load_file(str(out / "model.safetensors"))["transformer.wte.weight"].dtype == torch.float16
    model = GPT2LMHeadModel.from_pretrained(out, dtype=torch.float32, attn_implementation="eager")
    tokenizer = GPT2TokenizerFast.from_pretrained(out)
    assert len(tokenizer) == model.config.vocab_size == 8192
    assert model.config.eos_token_id == model.config.bos_token_id == tokenizer.eos_token_id == 8191
    ids = tokenizer("It is a truth universally acknowledged", return_tensors="pt").input_ids
    out_ = model(ids, output_attentions=True)
    assert out_.logits.shape == (1, ids.shape[1], 8192)
    assert len(out_.attentions) == 1  # eager attention really returns the pattern
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["step"] == 6 and metrics["tokens_seen"] == 6 * 4 * 64


def test_evaluate_reproduces_metrics(straight):
    metrics = json.loads((straight / "a-out" / "metrics.json").read_text())
    measured = evaluate_folder(straight / "a-out")
    for key in ("heldout_loss_per_token", "heldout_loss_per_char"):
        assert measured[key] == pytest.approx(metrics[key], abs=1e-3)


def test_resume_continues_exactly(straight, tmp_path):
    run(tmp_path, "b", "--max-steps", "6", "--stop-at-step", "3")
    assert json.loads((tmp_path / "b-run" / "checkpoint" / "state.json").read_text())["step"] == 3
    run(tmp_path, "b", "--max-steps", "6", "--resume")
    assert json.loads((tmp_path / "b-run" / "checkpoint" / "state.json").read_text())["step"] == 6
    a = load_file(str(straight / "a-run" / "checkpoint" / "model.safetensors"))
    b = load_file(str(tmp_path / "b-run" / "checkpoint" / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_truncated_tokenizer_keeps_gpt2_ids(tmp_path):
    small = write_truncated_tokenizer(tmp_path, 7935)
    gpt2 = GPT2TokenizerFast.from_pretrained(GPT2_FOLDER)
    big_vocab = gpt2.get_vocab()
    for token, i in small.get_vocab().items():
        assert big_vocab[token] == (50256 if token == "<|endoftext|>" else i)
    for text in CORPUS:
        ids, full = small(text).input_ids, gpt2(text).input_ids
        assert small.decode(ids) == text
        if all(i < 8191 for i in full):  # GPT-2 needed only kept merges: identical ids
            assert ids == full
        else:
            assert len(ids) >= len(full)


def test_committed_model_matches_its_card():
    # the held-out subset (the first 50k characters) keeps this test to seconds
    metrics = json.loads((TINY / "metrics.json").read_text())["heldout_subset"]
    measured = evaluate_folder(TINY, subset=True)
    for key in ("heldout_loss_per_token", "heldout_loss_per_char"):
        assert measured[key] == pytest.approx(metrics[key], abs=1e-3)
    size = sum(p.stat().st_size for p in TINY.iterdir())
    assert size < 20e6


def test_copy_windows_weight_and_point_back():
    from gpt2lab.training.copying import mix_in_copies

    windows = torch.arange(4 * 65).view(4, 65) % 50  # (B, N)
    out, weight, copy_of = mix_in_copies(windows, 8192, torch.Generator().manual_seed(3), share=1.0, min_length=5, max_length=9)
    for row in range(4):
        later = (copy_of[row] >= 0).nonzero().flatten()
        assert len(later) > 0
        x = out[row, :-1]
        assert torch.equal(x[later], x[copy_of[row, later]])  # each later token equals its earlier copy
        # and the token after each copy is the token to predict: what an induction head reads
        assert torch.equal(out[row, 1:][later], x[copy_of[row, later] + 1])
        assert (weight[row] >= 0).all() and weight[row].sum() > 0
    assert torch.equal(mix_in_copies(windows, 8192, torch.Generator().manual_seed(3), share=0.0)[0], windows)


def test_guide_loss_falls_as_the_head_moves_to_its_target():
    from gpt2lab.training.guided_heads import HeadGuide, guide_loss

    T = 6
    scores = torch.zeros(1, 1, T, T, requires_grad=True)
    guide = HeadGuide(0, 0, "previous_token")
    masked = lambda s: torch.softmax(s.masked_fill(torch.ones(T, T).triu(1).bool(), float("-inf")), -1)  # noqa: E731
    before = guide_loss(masked(scores), guide, None)
    before.backward()
    after = guide_loss(masked(scores - 0.5 * scores.grad), guide, None)
    assert after < before
    assert HeadGuide.parse("0.3:previous_token, 1.2:induction") == [HeadGuide(0, 3, "previous_token"), HeadGuide(1, 2, "induction")]
    with pytest.raises(Exception, match="layer.head:kind"):
        HeadGuide.parse("3:induction")


def test_warm_start_with_copies_and_guides(straight, tmp_path):
    # the embedded model's second run: start from a folder, repeated spans, two heads guided for a few steps
    run(tmp_path, "warm", "--max-steps", "4", "--init-from", str(straight / "a-out"), "--copy-share", "0.5",
        "--guide", "0.0:previous_token,0.1:induction", "--guide-steps", "2", "--dropout", "0.1")
    metrics = json.loads((tmp_path / "warm-out" / "metrics.json").read_text())
    assert metrics["init_from"] == str(straight / "a-out") and metrics["step"] == 4
    assert set(metrics["head_scores"]) == {"previous_token", "induction"}
    config = json.loads((tmp_path / "warm-out" / "config.json").read_text())
    assert config["resid_pdrop"] == config["attn_pdrop"] == 0.0  # shipped without dropout

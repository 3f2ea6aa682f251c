"""Every learner's mistake at every public entry point ends in one LabError sentence raised by gpt2lab.

CASES is the table: (what is tried, the call, words the sentence must hold). Each case must raise a
:class:`gpt2lab.errors.LabError` whose message is one sentence ending with a period, raised from gpt2lab's
own code (never a torch/transformers/matplotlib/json exception passed through).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers import random_lab

import gpt2lab
from gpt2lab.analysis.head_scores import head_scores
from gpt2lab.analysis.logit_lens import logit_lens
from gpt2lab.apps.essay import write_essay
from gpt2lab.errors import LabError
from gpt2lab.exercises import attention as attention_exercises
from gpt2lab.exercises import embeddings as embedding_exercises
from gpt2lab.exercises import transformer_block as block_exercises
from gpt2lab.generation.loop import next_distribution
from gpt2lab.generation.stepper import Stepper
from gpt2lab.generation.sampling import SamplingSettings
from gpt2lab.loading import EMBEDDED_PATH
from gpt2lab.tokenizer.bpe_training import train_bpe
from gpt2lab.training.finetune import FineTuneConfig
from gpt2lab.viz import attention_plots, block_plots, sampling_plots

PACKAGE = Path(gpt2lab.__file__).parent
SHAPE = (2, 4, 32, 64, 512)  # layers, heads, width, context 64, vocabulary 512


@pytest.fixture(scope="module")
def c(tmp_path_factory):
    """Everything the cases need: a small random lab, a trace, a stepper that has taken a step, and folders."""
    lab = random_lab(SHAPE)
    stepper = Stepper(lab, "The cat", temperature=0)
    stepper.step()
    root = tmp_path_factory.mktemp("folders")
    config = json.loads((EMBEDDED_PATH / "config.json").read_text())

    def folder(name, config_text=None, weights=True, tokenizer=True, extra=()):
        d = root / name
        d.mkdir()
        for f in EMBEDDED_PATH.iterdir():
            if f.name == "config.json":
                continue
            if f.suffix == ".safetensors" and not weights:
                continue
            if f.name in ("tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json") and not tokenizer:
                continue
            shutil.copy(f, d / f.name)
        if config_text is not None:
            (d / "config.json").write_text(config_text)
        for name_, text in extra:
            (d / name_).write_text(text)
        return d

    good = json.dumps(config)
    folders = dict(
        broken_json=folder("broken_json", '{"n_layer": 4,'),
        not_an_object=folder("not_an_object", "[1, 2, 3]"),
        no_config=folder("no_config"),
        no_weights=folder("no_weights", good, weights=False),
        only_pickle=folder("only_pickle", good, weights=False, extra=[("pytorch_model.bin", "pickle bytes")]),
        no_tokenizer=folder("no_tokenizer", good, tokenizer=False),
        empty_tokenizer=folder("empty_tokenizer", good, tokenizer=False, extra=[("vocab.json", "{}"), ("merges.txt", "")]),
        broken_tokenizer=folder("broken_tokenizer", good, tokenizer=False, extra=[("tokenizer.json", "{not json")]),
        bert=folder("bert", json.dumps({**config, "model_type": "bert"})),
        bad_values=folder("bad_values", json.dumps({**config, "n_embd": "wide"})),
    )
    return SimpleNamespace(lab=lab, trace=lab.trace("The cat sat on"), stepper=stepper, folder=folders)


def a_fresh_stepper(c):
    return Stepper(c.lab, "The cat", temperature=0)


# (what a learner tried, the call, words the sentence must contain)
CASES = [
    # gpt2lab.load: names, types and malformed folders
    ("load an unknown name", lambda c: gpt2lab.load("gpt-3"), "no model called"),
    ("load an int", lambda c: gpt2lab.load(3), "as a text"),
    ("load a list", lambda c: gpt2lab.load(["tiny"]), "as a text"),
    ("load on a bad device", lambda c: gpt2lab.load("tiny", device="gpu0"), "not a device"),
    ("config.json is not JSON", lambda c: gpt2lab.load(c.folder["broken_json"]), "not valid JSON"),
    ("config.json is a list", lambda c: gpt2lab.load(c.folder["not_an_object"]), "JSON object"),
    ("no config.json", lambda c: gpt2lab.load(c.folder["no_config"]), "no config.json"),
    ("no weights file", lambda c: gpt2lab.load(c.folder["no_weights"]), "no model.safetensors"),
    ("only pytorch_model.bin", lambda c: gpt2lab.load(c.folder["only_pickle"]), "pickle"),
    ("no tokenizer, not GPT-2's vocabulary", lambda c: gpt2lab.load(c.folder["no_tokenizer"]), "no tokenizer files"),
    ("empty tokenizer files", lambda c: gpt2lab.load(c.folder["empty_tokenizer"]), "tokenizer"),
    ("tokenizer.json is not JSON", lambda c: gpt2lab.load(c.folder["broken_tokenizer"]), "tokenizer"),
    ("a BERT config", lambda c: gpt2lab.load(c.folder["bert"]), "not a GPT-2"),
    ("a config value of the wrong type", lambda c: gpt2lab.load(c.folder["bad_values"]), "could not load"),
    # lab.trace / lab.encode / lab.decode / lab.token_strings: what is traced
    ("trace None", lambda c: c.lab.trace(None), "text (a str) or token ids"),
    ("trace a float", lambda c: c.lab.trace(3.5), "text (a str) or token ids"),
    ("trace an int", lambda c: c.lab.trace(7), "text (a str) or token ids"),
    ("trace bytes", lambda c: c.lab.trace(b"The cat"), "text (a str) or token ids"),
    ("trace a list of floats", lambda c: c.lab.trace([1.0, 2.0]), "whole number"),
    ("trace a ragged nested list", lambda c: c.lab.trace([[1, 2], [3]]), "flat list"),
    ("trace a nested list", lambda c: c.lab.trace([[1, 2], [3, 4]]), "flat list"),
    ("trace a 2-D tensor", lambda c: c.lab.trace(torch.zeros(2, 3, dtype=torch.long)), "1-D integer tensor"),
    ("trace a 0-D tensor", lambda c: c.lab.trace(torch.tensor(5)), "1-D integer tensor"),
    ("trace a float tensor", lambda c: c.lab.trace(torch.tensor([1.0, 2.0])), "1-D integer tensor"),
    ("trace a bool tensor", lambda c: c.lab.trace(torch.tensor([True, False])), "1-D integer tensor"),
    ("trace a 2-D numpy array", lambda c: c.lab.trace(np.zeros((2, 2), dtype=np.int64)), "1-D integer tensor"),
    ("trace strings as ids", lambda c: c.lab.trace(["The", "cat"]), "whole number"),
    ("trace booleans as ids", lambda c: c.lab.trace([True, False]), "whole number"),
    ("trace None inside ids", lambda c: c.lab.trace([1, None]), "whole number"),
    ("trace empty text", lambda c: c.lab.trace(""), "empty"),
    ("trace an empty list", lambda c: c.lab.trace([]), "empty"),
    ("trace an empty tensor", lambda c: c.lab.trace(torch.tensor([], dtype=torch.long)), "empty"),
    ("trace too long", lambda c: c.lab.trace([1] * 65), "context window"),
    ("trace a negative id", lambda c: c.lab.trace([5, -1]), "outside this model's vocabulary"),
    ("trace an id = vocab", lambda c: c.lab.trace([512]), "outside this model's vocabulary"),
    ("trace a huge id", lambda c: c.lab.trace([10**30]), "outside this model's vocabulary"),
    ("trace a tensor id outside", lambda c: c.lab.trace(torch.tensor([3, 9999])), "outside this model's vocabulary"),
    ("trace keep an int", lambda c: c.lab.trace("The cat", keep=3), "keep must be"),
    ("trace keep an unknown stage", lambda c: c.lab.trace("The cat", keep=["blocks.0.nope"]), "No stage is called"),
    ("trace with a cache that is not one", lambda c: c.lab.trace("The cat", cache={}), "KVCache"),
    ("trace past a full cache", lambda c: c.lab.trace([1] * 40, cache=(k := c.lab.new_cache(), c.lab.trace([1] * 40, cache=k))[0]), "context window is full"),
    ("encode None", lambda c: c.lab.encode(None), "must be a str"),
    ("encode ids", lambda c: c.lab.encode([1, 2]), "must be a str"),
    ("decode None", lambda c: c.lab.decode(None), "flat list"),
    ("decode an id outside", lambda c: c.lab.decode([1, 512]), "outside"),
    ("decode a text", lambda c: c.lab.decode("The cat"), "flat list"),
    ("token_strings of a negative id", lambda c: c.lab.token_strings([-3]), "outside"),
    ("token_strings of floats", lambda c: c.lab.token_strings([1.5]), "whole number"),
    # Stepper: construction, step, branch, goto, play
    ("Stepper without a prompt", lambda c: Stepper(c.lab, None), "prompt must be a text"),
    ("Stepper with ids as prompt", lambda c: Stepper(c.lab, [1, 2]), "prompt must be a text"),
    ("Stepper with an empty prompt", lambda c: Stepper(c.lab, ""), "prompt is empty"),
    ("Stepper with no lab", lambda c: Stepper(None, "The cat"), "gpt2lab.load"),
    ("Stepper with an unknown option", lambda c: Stepper(c.lab, "The cat", temprature=0.5), "no option 'temprature'"),
    ("Stepper with bad settings", lambda c: Stepper(c.lab, "The cat", settings={"temperature": 1}), "SamplingSettings"),
    ("Stepper with a too-long prompt", lambda c: Stepper(c.lab, "cat " * 200), "context window"),
    ("step a negative id", lambda c: a_fresh_stepper(c).step(-1), "token id from 0 to 511"),
    ("step an id = vocab", lambda c: a_fresh_stepper(c).step(512), "token id from 0 to 511"),
    ("step a float id", lambda c: a_fresh_stepper(c).step(3.0), "token id"),
    ("step a text", lambda c: a_fresh_stepper(c).step("cat"), "token id"),
    ("step a bool", lambda c: a_fresh_stepper(c).step(True), "token id"),
    ("step a 1-D tensor", lambda c: a_fresh_stepper(c).step(torch.tensor([1, 2])), "token id"),
    ("branch to an id outside", lambda c: c.stepper.branch(10**6), "token id from 0 to 511"),
    ("branch to a negative id", lambda c: c.stepper.branch(-2), "token id from 0 to 511"),
    ("branch to None", lambda c: c.stepper.branch(None), "token id"),
    ("branch before any step", lambda c: a_fresh_stepper(c).branch(5), "nothing to go back to"),
    ("goto None", lambda c: c.stepper.goto(None), "flat list"),
    ("goto an id outside", lambda c: c.stepper.goto([9999]), "outside"),
    ("goto a text", lambda c: c.stepper.goto("ab"), "flat list"),
    ("goto a path never tried", lambda c: c.stepper.goto([1, 2, 3]), "not in the tree"),
    ("play a text", lambda c: a_fresh_stepper(c).play("3"), "whole number"),
    ("play a negative count", lambda c: a_fresh_stepper(c).play(-1), "whole number"),
    # lab.generate / gpt2lab.generate / next_distribution: sampling settings
    ("generate temperature < 0", lambda c: c.lab.generate("The cat", temperature=-0.5), "temperature"),
    ("generate temperature nan", lambda c: c.lab.generate("The cat", temperature=float("nan")), "temperature"),
    ("generate temperature a text", lambda c: gpt2lab.generate(c.lab, "The cat", temperature="hot"), "temperature"),
    ("generate top_k 0", lambda c: c.lab.generate("The cat", top_k=0), "top_k"),
    ("generate top_k float", lambda c: c.lab.generate("The cat", top_k=2.5), "top_k"),
    ("generate top_p 0", lambda c: c.lab.generate("The cat", top_p=0), "top_p"),
    ("generate top_p > 1", lambda c: c.lab.generate("The cat", top_p=1.2), "top_p"),
    ("generate top_p nan", lambda c: c.lab.generate("The cat", top_p=float("nan")), "top_p"),
    ("generate max_new_tokens 0", lambda c: c.lab.generate("The cat", max_new_tokens=0), "max_new_tokens"),
    ("generate max_new_tokens float", lambda c: c.lab.generate("The cat", max_new_tokens=2.0), "max_new_tokens"),
    ("generate seed negative", lambda c: c.lab.generate("The cat", seed=-1), "seed"),
    ("generate seed float", lambda c: c.lab.generate("The cat", seed=0.5), "seed"),
    ("generate seed past torch's range", lambda c: c.lab.generate("The cat", seed=2**64), "seed must be a whole number from 0 to 18,446,744,073,709,551,615"),
    ("generate no_repeat_ngram_size -1", lambda c: c.lab.generate("The cat", no_repeat_ngram_size=-1), "no_repeat_ngram_size must be a whole number of at least 0 (0 is off)"),
    ("generate a None prompt", lambda c: c.lab.generate(None), "prompt must be a text"),
    ("generate ids as prompt", lambda c: gpt2lab.generate(c.lab, [1, 2]), "prompt must be a text"),
    ("generate an unknown option", lambda c: c.lab.generate("The cat", topk=3), "no option 'topk'"),
    ("generate bad settings", lambda c: gpt2lab.generate(c.lab, "The cat", settings=0.7), "SamplingSettings"),
    ("generate with no lab", lambda c: gpt2lab.generate("The cat", "a"), "gpt2lab.load"),
    ("generate a too-long prompt", lambda c: c.lab.generate("cat " * 200), "context window"),
    ("next_distribution of None", lambda c: next_distribution(c.lab, None), "prompt must be a text"),
    ("next_distribution bad settings", lambda c: next_distribution(c.lab, "The cat", "greedy"), "SamplingSettings"),
    ("SamplingSettings top_k -1", lambda c: SamplingSettings(top_k=-1), "top_k"),
    # analysis: logit lens and head scores
    ("logit_lens position outside", lambda c: logit_lens(c.lab, c.trace, position=99), "outside"),
    ("logit_lens position a float", lambda c: logit_lens(c.lab, c.trace, position=1.5), "whole number"),
    ("logit_lens top_k 0", lambda c: logit_lens(c.lab, c.trace, top_k=0), "top_k"),
    ("logit_lens top_k > vocab", lambda c: logit_lens(c.lab, c.trace, top_k=10**6), "top_k"),
    ("logit_lens top_k a text", lambda c: logit_lens(c.lab, c.trace, top_k="5"), "top_k"),
    ("logit_lens of a text", lambda c: logit_lens(c.lab, "The cat"), "Give a trace"),
    ("logit_lens of a partial trace", lambda c: logit_lens(c.lab, c.lab.trace("The cat", keep=["logits"])), "was not kept"),
    ("patch_residual answer a float", lambda c: gpt2lab.patch_residual(c.lab, "The cat", "The dog", 2.5, 3), "one-token string like ' Mary' or a token id, not 2.5"),
    ("patch_residual wrong answer outside", lambda c: gpt2lab.patch_residual(c.lab, "The cat", "The dog", 2, 10**6), "The wrong answer must be a token id from 0 to 511"),
    ("head_scores of None", lambda c: head_scores(c.lab, None), "must be a str"),
    ("head_scores of one token", lambda c: head_scores(c.lab, [5]), "must be a str"),
    ("head_scores repeat_length 0", lambda c: head_scores(c.lab, "The cat sat", repeat_length=0), "repeat_length"),
    ("head_scores seed a float", lambda c: head_scores(c.lab, "The cat sat", seed=0.5), "seed"),
    ("head_scores seed past torch's range", lambda c: head_scores(c.lab, "The cat sat", seed=10**30), "seed must be a whole number from 0"),
    # the essay
    ("write_essay of None", lambda c: write_essay(c.lab, None), "prompt must be a text"),
    ("write_essay paragraphs 0", lambda c: write_essay(c.lab, "The cat", paragraphs=0), "paragraphs"),
    ("write_essay paragraphs True", lambda c: write_essay(c.lab, "The cat", paragraphs=True), "paragraphs must be a whole number of at least 1, not True"),
    ("write_essay seed past torch's range", lambda c: write_essay(c.lab, "The cat", seed=2**70), "seed must be a whole number from 0"),
    # training settings and BPE training
    ("train_bpe num_merges a float", lambda c: train_bpe("low lower", num_merges=2.0), "num_merges must be a whole number of at least 0, not 2.0"),
    ("train_bpe num_merges True", lambda c: train_bpe("low lower", num_merges=True), "num_merges must be a whole number"),
    ("fine-tune max_steps 0", lambda c: FineTuneConfig(max_steps=0).check(64), "max_steps must be a whole number of at least 1, not 0"),
    ("fine-tune batch_size a numpy int", lambda c: FineTuneConfig(batch_size=np.int64(4)).check(64), "batch_size must be a Python int, like 4"),
    ("write_essay temperature < 0", lambda c: write_essay(c.lab, "The cat", temperature=-1), "temperature"),
    ("write_essay with no lab", lambda c: write_essay(None, "The cat"), "gpt2lab.load"),
    # viz: tensors of the wrong shape or type
    ("pattern_heatmap of a 1-D tensor", lambda c: attention_plots.pattern_heatmap(torch.zeros(3), ["a"] * 3), "shape (T, T_all)"),
    ("pattern_heatmap of a text", lambda c: attention_plots.pattern_heatmap("x", ["a"]), "tensor of numbers"),
    ("pattern_heatmap with too few labels", lambda c: attention_plots.pattern_heatmap(torch.zeros(3, 3), ["a"]), "query"),
    ("pattern_heatmap without labels", lambda c: attention_plots.pattern_heatmap(torch.zeros(3, 3), None), "pattern_heatmap"),
    ("head_grid of one head", lambda c: attention_plots.head_grid(torch.zeros(3, 3), ["a"] * 3), "n_head"),
    ("query_row_bars query outside", lambda c: attention_plots.query_row_bars(torch.zeros(3, 3), 7, ["a"] * 3), "outside"),
    ("qkv_vectors of mixed shapes", lambda c: attention_plots.qkv_vectors(torch.zeros(3, 3), torch.zeros(3), torch.zeros(2)), "d_head"),
    ("gelu_plot of mixed shapes", lambda c: block_plots.gelu_plot(torch.zeros(3), torch.zeros(4)), "d_mlp"),
    ("residual_norm_plot of a 1-D tensor", lambda c: block_plots.residual_norm_plot(torch.zeros(3), ["a"], ["b"]), "norms"),
    ("next_token_chart of a 2-D tensor", lambda c: sampling_plots.next_token_chart(torch.zeros(3, 3), torch.zeros(3), ["a"]), "one value per token"),
    ("context_attention_chart too many weights", lambda c: sampling_plots.context_attention_chart(torch.zeros(3), ["a"]), "one weight per token"),
    ("attention_text_html too many weights", lambda c: sampling_plots.attention_text_html(torch.zeros(3), ["a"]), "one weight per token"),
]


def raised_by_gpt2lab(excinfo) -> bool:
    """The LabError was raised by gpt2lab's own code (not re-raised from a frame of another library)."""
    return Path(str(excinfo.traceback[-1].path)).resolve().is_relative_to(PACKAGE.resolve())


@pytest.mark.parametrize("what, call, words", CASES, ids=[case[0] for case in CASES])
def test_a_mistake_is_one_sentence_from_gpt2lab(c, what, call, words):
    with pytest.raises(LabError) as excinfo:
        call(c)
    message = str(excinfo.value)
    assert words.lower() in message.lower(), message
    assert message.endswith(".") and "\n" not in message, message
    assert not re.search(r"[.;:]\s+(Traceback|File \")", message), message
    assert raised_by_gpt2lab(excinfo), excinfo.traceback[-1].path
    assert type(excinfo.value) is LabError  # not a library's ValueError that happens to subclass it


# An exercise checker never raises for a wrong answer (a notebook with a wrong answer still runs top to
# bottom): an answer that is not numbers at all gets a "Not yet" with one sentence saying what to give.
WRONG_KINDS = [
    ("check_head_output given a text", lambda c: attention_exercises.check_head_output(c.trace, 0, 0, 0, "z")),
    ("check_block_output given a text", lambda c: block_exercises.check_block_output(c.trace, 0, "resid")),
    ("check_layer_norm_by_hand given a dict", lambda c: block_exercises.check_layer_norm_by_hand(c.lab, c.trace, 0, 0, {"x": 1})),
    ("check_block0_input given a text", lambda c: embedding_exercises.check_block0_input(c.lab, c.trace, 0, "x")),
]


@pytest.mark.parametrize("what, call", WRONG_KINDS, ids=[case[0] for case in WRONG_KINDS])
def test_a_checker_given_no_numbers_says_what_to_give(c, what, call):
    result = call(c)
    assert result.answered and not result.passed
    assert "tensor" in result.message and result.message.endswith(".")


def test_every_case_is_distinct():
    names = [case[0] for case in CASES]
    assert len(names) == len(set(names)) and len(CASES) >= 100  # plus WRONG_KINDS for the exercise checkers


def test_good_inputs_still_work(c):
    """The checks accept every form of good input they describe (a test that the table's checks are not too strict)."""
    ids = c.lab.encode("The cat sat on")
    for given in (ids, tuple(ids), torch.tensor(ids), np.array(ids), [np.int64(i) for i in ids], [torch.tensor(i) for i in ids]):
        assert torch.equal(c.lab.trace(given).logits, c.trace.logits)
    assert c.lab.decode([]) == "" and c.lab.token_strings([]) == []
    step = a_fresh_stepper(c).step(torch.tensor(7))  # a one-element integer tensor is a token id
    assert step.token_id == 7 and step.forced
    assert logit_lens(c.lab, c.trace, position=np.int64(-1), top_k=torch.tensor(3)).top_ids.shape[1] == 3
    # any seed torch's generator takes, and whole numbers of any integer type, stored as plain ints
    settings = SamplingSettings(top_k=np.int64(3), max_new_tokens=torch.tensor(2), seed=2**64 - 1)
    assert (settings.top_k, settings.max_new_tokens, settings.seed) == (3, 2, 2**64 - 1)
    assert type(settings.top_k) is int and type(settings.max_new_tokens) is int
    result = c.lab.generate("The cat", settings=settings)
    assert len(result.new_ids) == 2 and result.steps[0].settings.seed == 2**64 - 1
    assert len(train_bpe("low lower lowest", num_merges=np.int64(2)).merges) == 2


# --- widgets: the sentence shows in the widget, and the next good input works ------------------------------


def test_widgets_show_the_sentence_and_stay_usable(c):
    from gpt2lab.widgets.attention_explorer import AttentionExplorer
    from gpt2lab.widgets.essay_widget import EssayWidget
    from gpt2lab.widgets.sampling_lab import SamplingLabWidget
    from gpt2lab.widgets.stepper_widget import GenerationStepperWidget

    explorer = AttentionExplorer(c.lab, "The cat sat")
    explorer.text.value = ""
    assert "empty" in explorer.message.value
    explorer.text.value = "cat " * 100  # past the context window of 64
    assert "tokens long" in explorer.message.value
    explorer.text.value = "The dog sat"
    assert explorer.message.value == "" and explorer.trace.tokens[-1] == c.lab.token_strings(c.lab.encode("The dog sat"))[-1]

    lab_widget = SamplingLabWidget(c.lab, "The cat")
    lab_widget.prompt.value = "cat " * 100
    assert "context window" in lab_widget.message.value
    lab_widget.prompt.value = "The dog"
    assert lab_widget.message.value == "" and lab_widget.comparison is not None

    stepper = GenerationStepperWidget(c.lab, "The cat")
    stepper.prompt.value = ""
    assert not stepper.guarded(stepper.do_step) and "empty" in stepper.message.value
    stepper.prompt.value = "The dog"
    assert stepper.guarded(stepper.do_step) and stepper.message.value == "" and len(stepper.stepper.steps) == 1
    assert not stepper.guarded(stepper.do_branch, 10**6) and "token id" in stepper.message.value
    assert stepper.guarded(stepper.do_branch, 5) and stepper.stepper.steps[-1].token_id == 5

    essay = EssayWidget(c.lab, "")
    assert essay.generate() is None and "empty" in essay.message.value
    essay.prompt.value = "The cat"
    essay.controls.max_new_tokens.value = 5
    assert essay.generate() is not None and essay.message.value == ""

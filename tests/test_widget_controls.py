"""Every control a widget shows changes what it shows, and every value a learner can type gets one sentence.

For each widget: the controls on screen are listed by walking its view (so a control added later without a
test here fails ``assert_all_tested``), each one is moved and the widget's output must change in the way it
says; then the values a learner can type that make no sense (an empty or blank prompt, a seed too large for
any random generator, a long paste) each show one LabError sentence in the widget's own area, replacing what
was there, and the next good value works again. No browser: the callbacks are called as ipywidgets calls them.
"""

from __future__ import annotations

import re

import ipywidgets as widgets
import pytest

import gpt2lab
from gpt2lab.generation.sampling import choose, make_generator
from gpt2lab.widgets.attention_explorer import AttentionExplorer
from gpt2lab.widgets.essay_widget import EssayWidget
from gpt2lab.widgets.loss_curve_widget import LiveLossCurve
from gpt2lab.widgets.sampling_lab import SamplingLabWidget
from gpt2lab.widgets.stepper_widget import GenerationStepperWidget
from gpt2lab.widgets.surprisal_widget import SurprisalWidget
from gpt2lab.widgets.tokenizer_widget import BPETrainingExplorer, TokenizerExplorer

HUGE_SEED = 99999999999999999999999  # what a learner can type into a seed box
PARAGRAPH = "the cat sat on the mat. the cat ate the rat. the rat sat on the hat. " * 3


@pytest.fixture(scope="module")
def tiny():
    return gpt2lab.load("tiny")


def sentence(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def shown_controls(view) -> list:
    """The controls on screen in a widget's view: every input or button, in boxes that are not hidden."""
    found = []

    def walk(w):
        if w.layout.display == "none":
            return
        if isinstance(w, widgets.Box):
            for child in w.children:
                walk(child)
        elif not isinstance(w, (widgets.HTML, widgets.Label, widgets.Image, widgets.Output)):
            found.append(w)

    walk(view)
    return found


def assert_all_tested(view, tested) -> None:
    """Every control shown was exercised by the test (by identity), and nothing else is on screen."""
    shown = shown_controls(view)
    untested = [getattr(w, "description", type(w).__name__) for w in shown if not any(w is t for t in tested)]
    assert untested == [], f"shown but not tested: {untested}"


def changes(get, act) -> bool:
    """Did ``act()`` change what ``get()`` returns?"""
    before = get()
    act()
    return get() != before


# --- the essay widget ---------------------------------------------------------------------------------------


def test_every_essay_control_goes_into_the_essay(tiny):
    w = EssayWidget(tiny, "It is a truth universally acknowledged", paragraphs=1, max_new_tokens=40, seed=0)
    c = w.controls

    def essay():
        w.generate_button.click()
        assert w.message.value == "", sentence(w.message.value)
        return [s.token_id for s in w.essay.steps], w.essay.text, w.essay.stop_explanation

    base = essay()
    assert w.essay.settings == c.settings()
    for control, value in [(c.temperature, 1.6), (c.use_top_k, False), (c.top_p, 0.3), (c.min_p, 0.3),
                           (c.repetition_penalty, 3.0), (c.no_repeat_ngram_size, 1), (c.seed, 7), (c.max_new_tokens, 12),
                           (w.paragraphs, 3), (w.prompt, "The history of tea")]:
        old = control.value
        control.value = value
        assert essay() != base, f"{control.description} = {value!r} changed nothing"
        control.value = old
    c.use_top_k.value = True
    c.top_k.value = 1  # top-k 1 is greedy: a different essay from top-k 40
    assert essay() != base
    c.top_k.value = 40
    c.min_p.value, c.repetition_penalty.value, c.no_repeat_ngram_size.value = 0.5, 3.0, 6
    assert essay() != base  # the three settings the essay used to ignore, together
    s = w.essay.settings  # what the essay was written with
    assert (s.min_p, s.repetition_penalty, s.no_repeat_ngram_size) == (0.5, 3.0, 6)
    assert "repetition penalty 3, no repeated 6-gram" in w.status.value and "min-p 0.5" in w.status.value
    assert_all_tested(w.view, [w.prompt, c.temperature, c.use_top_k, c.top_k, c.top_p, c.min_p, c.repetition_penalty,
                               c.no_repeat_ngram_size, c.max_new_tokens, c.seed, w.paragraphs, w.generate_button])


def test_the_essay_shows_its_text_as_it_comes(tiny, monkeypatch):
    import gpt2lab.widgets.essay_widget as essay_widget

    monkeypatch.setattr(essay_widget, "STREAM_EVERY_S", 0.0)
    w = EssayWidget(tiny, "It is a truth", paragraphs=1, max_new_tokens=30)
    shown = []
    w.output.observe(lambda change: shown.append(change["new"]), names="value")
    statuses = []
    w.status.observe(lambda change: statuses.append(change["new"]), names="value")
    w.generate_button.click()
    partial = [v for v in shown if "▍" in v]  # the text so far, with a cursor, before the finished essay
    assert len(partial) >= 5 and shown[-1] == w.output.value and "▍" not in shown[-1]
    assert any("Writing… 3 of at most 30 tokens" in s for s in statuses)


def test_essay_bad_values_replace_the_essay_in_one_sentence(tiny):
    w = EssayWidget(tiny, "It is a truth", paragraphs=1, max_new_tokens=20)
    w.generate_button.click()
    assert w.output.value != ""
    for field, value, says in [(w.controls.seed, HUGE_SEED, "seed must be a whole number from 0 to"),
                               (w.prompt, "   ", "only spaces"), (w.prompt, "", "The prompt is empty"),
                               (w.prompt, "word " * 2000, "long"), (w.controls.max_new_tokens, 0, "max_new_tokens")]:
        old = field.value
        field.value = value
        w.generate_button.click()
        assert says in sentence(w.message.value), (value, sentence(w.message.value))
        assert w.output.value == "" and w.status.value == "" and not w.generate_button.disabled
        assert 'role="alert"' in w.message.value and w.message.value.count("<div") == 1  # one sentence
        field.value = old
        w.generate_button.click()  # and the next good value works again
        assert w.message.value == "" and w.output.value != ""


# --- the sampling lab ----------------------------------------------------------------------------------------


def test_every_sampling_lab_control_changes_what_it_shows(tiny):
    w = SamplingLabWidget(tiny, "It is a truth universally acknowledged that a single man", n_rows=8)
    c = w.controls
    assert changes(lambda: w.table.value, lambda: setattr(w.prompt, "value", "Emma Woodhouse, handsome,"))
    assert changes(lambda: w.table.value.count("<tr>"), lambda: setattr(w.rows, "value", 12))
    assert w.table.value.count("<tr>") == 1 + 12
    pipeline = lambda: w.pipeline.value  # noqa: E731
    for control, value in [(c.temperature, 1.7), (c.use_top_k, True), (c.top_k, 5), (c.top_p, 0.5), (c.min_p, 0.2),
                           (c.repetition_penalty, 2.5), (c.no_repeat_ngram_size, 1)]:
        assert changes(pipeline, lambda: setattr(control, "value", value)), control.description
    # the seed draws the next token from what your settings keep: seeds that draw differently show differently
    c.use_top_k.value, c.temperature.value, c.top_p.value, c.min_p.value = False, 1.5, 1.0, 0.0
    draws = {}
    for seed in range(30):
        c.seed.value = seed
        draws.setdefault(w.drawn, seed)
        assert w.drawn == choose(w.mine, make_generator(seed))
        assert tiny.token_strings([w.drawn])[0].replace(" ", "·") in sentence(w.pipeline.value).split("draws ")[1]
    assert len(draws) >= 3, "thirty seeds drew fewer than three different tokens from a flat distribution"
    assert "Max new tokens" not in [getattr(x, "description", "") for x in shown_controls(w.view)]  # it did nothing: gone
    assert_all_tested(w.view, [w.prompt, w.rows, c.temperature, c.use_top_k, c.top_k, c.top_p, c.min_p,
                               c.repetition_penalty, c.no_repeat_ngram_size, c.seed, w.save.filename, w.save.button])


def test_sampling_lab_saves_its_chart_and_bad_values_get_one_sentence(tiny, tmp_path):
    w = SamplingLabWidget(tiny, "It is a truth")
    w.save.filename.value = str(tmp_path / "lab.svg")
    w.save.button.click()
    assert (tmp_path / "lab.svg").stat().st_size > 1000 and "saved" in w.save.message.value
    w.save.filename.value = str(tmp_path / "lab.txt")
    w.save.button.click()
    assert "ending that says the format" in sentence(w.save.message.value) and "saved" not in w.save.message.value
    for value, says in [("   ", "only spaces"), ("", "empty"), ("word " * 2000, "long")]:
        w.prompt.value = value
        assert says in sentence(w.message.value) and w.table.value == "" and w.pipeline.value == ""
        w.prompt.value = "It is a truth"
        assert w.message.value == "" and w.table.value != ""
    w.controls.seed.value = HUGE_SEED
    assert "seed must be a whole number from 0 to" in sentence(w.pipeline.value)  # in place of the pipeline
    w.controls.seed.value = 3
    assert "seed 3 draws" in w.pipeline.value


def test_sampling_lab_counts_read_as_english(tiny):
    w = SamplingLabWidget(tiny, "It is a truth")
    assert "greedy</b>: 1 token kept;" in w.summary.value and "1 tokens" not in w.summary.value
    w.controls.temperature.value = 0.0
    assert "Drawn from 1 token under" in w.pipeline.value


# --- the generation stepper ----------------------------------------------------------------------------------


def test_every_stepper_control_changes_what_it_shows(tiny, tmp_path):
    w = GenerationStepperWidget(tiny, "Emma Woodhouse, handsome,", top_k=40, max_new_tokens=10)
    c = w.controls

    def first_step():  # start over and take one step: the chart shows the settings in force
        w.reset_button.click()
        w.step_button.click()
        assert w.message.value == "", sentence(w.message.value)
        return w.chart.value, w.stepper.last.token_id

    base = first_step()
    for control, value in [(c.temperature, 1.7), (c.use_top_k, False), (c.top_p, 0.4), (c.min_p, 0.3),
                           (c.repetition_penalty, 2.5), (c.no_repeat_ngram_size, 1), (w.prompt, "It is a truth")]:
        old = control.value
        control.value = value
        assert first_step() != base, control.description
        control.value = old
    c.top_k.value = 1
    assert first_step() != base
    c.top_k.value = 40
    # the seed: said in the status line at once, used from the next Reset
    c.seed.value = 5
    assert "seed 5 starts at Reset" in w.status.value
    draws = set()
    for seed in range(8):
        c.seed.value = seed
        w.reset_button.click()
        w.play_steps(3)
        draws.add(tuple(w.stepper.new_ids))
        assert f"seed {seed}" in w.status.value
    assert len(draws) > 1
    # max new tokens: the stepper stops there
    c.max_new_tokens.value = 2
    w.reset_button.click()
    assert w.play_steps(5) == 2 and "Stopped" in w.status.value
    c.max_new_tokens.value = 10
    # back, a candidate (a branch), the branch list, and play
    w.reset_button.click()
    w.play_steps(3)
    three = list(w.stepper.new_ids)
    assert changes(lambda: w.text.value, w.back_button.click) and w.stepper.new_ids == three[:2]
    assert w.branches.value == tuple(three[:2]) and w.branches.label.startswith("here: ")  # never blank after Back
    w.step_button.click()
    candidate = next(b for b in w.choice_buttons if b.token_id != w.stepper.new_ids[-1])
    candidate.click()
    assert w.stepper.new_ids[-1] == candidate.token_id and len(w.branches.options) >= 2
    w.branches.value = w.branches.options[0][1]
    assert tuple(w.stepper.new_ids) == w.branches.options[0][1]
    w.play_interval = 0.0
    w.play_button.click()
    w.wait(30)
    assert w.stepper.stop_reason is not None
    # attention: layer and head redraw what the newest token's position looked at
    assert changes(lambda: w.attention.value, lambda: setattr(w.layer, "value", 0))
    assert changes(lambda: w.attention.value, lambda: setattr(w.head, "value", 2))
    # why this token: open it, switch heads off
    assert changes(lambda: w.why.bars.value, lambda: setattr(w.why.enabled, "value", True))
    assert changes(lambda: w.why.ablation.value, lambda: setattr(w.why.heads_off, "value", ((0, 1),)))
    # saving: the chart, the session, the handout
    w.save_chart.filename.value = str(tmp_path / "chart.png")
    w.save_chart.button.click()
    assert (tmp_path / "chart.png").exists()
    w.session_file.value = str(tmp_path / "s.json")
    w.save_session_button.click()
    w.html_button.click()
    assert (tmp_path / "s.json").exists() and (tmp_path / "s.html").exists()
    w.reset_button.click()
    w.load_session_button.click()
    assert "loaded" in w.session_message.value and w.stepper.new_ids != []
    assert_all_tested(w.view, [w.prompt, c.temperature, c.use_top_k, c.top_k, c.top_p, c.min_p, c.repetition_penalty,
                               c.no_repeat_ngram_size, c.max_new_tokens, c.seed, w.step_button, w.back_button,
                               w.play_button, w.reset_button, *w.choice_buttons, w.branches, w.layer, w.head,
                               w.save_chart.filename, w.save_chart.button, w.session_file, w.save_session_button,
                               w.load_session_button, w.html_button, w.why.enabled, w.why.heads_off])


def test_stepper_grammar_and_one_position_convention(tiny):
    w = GenerationStepperWidget(tiny, "It is a truth universally", temperature=0.0)  # greedy: 1 token kept
    w.step_button.click()
    last = w.stepper.last
    assert "1 token survived the filters" in w.status.value
    assert f"The token at position {last.position}" in w.chart.value
    w.why.enabled.value = True
    assert f"at position {last.position} " in w.why.caption.value  # the explain panel names the same position
    assert f"predicted the token at position {last.position}" in w.attention.value
    w.controls.temperature.value = 1.0
    w.controls.use_top_k.value = False
    w.reset_button.click()
    w.step_button.click()
    labels = [b.description for b in w.choice_buttons if b.layout.display != "none"]
    kept = [b for b in w.choice_buttons if b.layout.display != "none" and float(w.stepper.last.filtered[b.token_id]) > 0]
    assert kept and not any(b.description.endswith(" 0%") for b in kept), labels
    assert any(b.description.endswith("<1%") for b in kept) or all(float(w.stepper.last.filtered[b.token_id]) >= 0.005 for b in kept)


def test_stepper_bad_values_show_one_sentence_and_it_works_again(tiny, tmp_path):
    w = GenerationStepperWidget(tiny, "It is a truth")
    w.step_button.click()
    for field, value, says, button in [
            (w.controls.seed, HUGE_SEED, "seed must be a whole number from 0 to", w.reset_button),
            (w.prompt, "   ", "only spaces", w.reset_button),
            (w.prompt, "", "The prompt is empty", w.step_button),
            (w.prompt, "word " * 2000, "long", w.reset_button)]:
        old = field.value
        field.value = value
        button.click()
        assert says in sentence(w.message.value), (value, sentence(w.message.value))
        assert w.text.value == "" and w.chart.value == ""  # the sentence replaces the views
        field.value = old
        w.reset_button.click()
        w.step_button.click()
        assert w.message.value == "" and w.text.value != "" and len(w.stepper.steps) == 1
    w.session_message.value = "saved <code>x.json</code>"
    w.session_file.value = str(tmp_path / "missing.json")
    w.load_session_button.click()
    assert 'role="alert"' in w.session_message.value and "saved" not in w.session_message.value  # replaced


# --- the attention explorer ----------------------------------------------------------------------------------


def test_every_attention_explorer_control_changes_what_it_shows(tiny, tmp_path):
    w = AttentionExplorer(tiny, "The cat sat on the mat because it was tired.")
    picture = lambda: w.picture.value  # noqa: E731
    assert changes(picture, lambda: setattr(w.layer, "value", 2))
    assert changes(picture, lambda: setattr(w.head, "value", 3))
    for _, kind in (("", "mask"), ("", "grid"), ("", "row"), ("", "qkv"), ("", "unmasked"), ("", "pattern")):
        assert changes(picture, lambda: setattr(w.show, "value", kind)), kind
    w.show.value = "row"
    assert changes(picture, lambda: setattr(w.query, "value", 2))
    assert changes(picture, lambda: setattr(w.text, "value", "Emma was clever."))
    assert changes(lambda: w.ablation.value, lambda: setattr(w.switch_off, "value", True))
    w.save.filename.value = str(tmp_path / "a.svg")
    w.save.button.click()
    assert (tmp_path / "a.svg").exists()
    assert_all_tested(w.view, [w.text, w.layer, w.head, w.query, w.show, w.save.filename, w.save.button, w.switch_off])
    for value, says in [("", "empty"), ("the cat " * 40, "at most 48")]:
        w.text.value = value
        assert says in sentence(w.message.value) and w.picture.value == "" and w.ablation.value == ""
        w.text.value = "The cat sat."
        assert w.message.value == "" and w.picture.value != ""


# --- the tokenizer explorers ---------------------------------------------------------------------------------


def test_every_tokenizer_explorer_control_changes_what_it_shows(tiny):
    w = TokenizerExplorer(tiny.tokenizer, "Hello world! naïve café")
    assert changes(lambda: w.chips.value, lambda: setattr(w.show, "value", "bytes"))
    assert changes(lambda: w.chips.value, lambda: setattr(w.text, "value", "unbelievable tokenization"))
    assert changes(lambda: w.merges.value, lambda: setattr(w.word, "value", 0))
    w.word.value = max(range(len(w.work.pieces)), key=lambda i: len(w.work.pieces[i].merges))
    assert changes(lambda: w.merges.value, lambda: setattr(w.step, "value", 1))
    assert_all_tested(w.view, [w.text, w.show, w.word, w.step])
    w.text.value = "x" * (w.max_chars + 1)  # a long paste
    assert "please shorten it" in sentence(w.message.value) and w.chips.value == "" and w.summary.value == ""
    w.text.value = "ok again"
    assert w.message.value == "" and "2 tokens" in w.summary.value


def test_every_bpe_trainer_control_changes_what_it_shows():
    w = BPETrainingExplorer(PARAGRAPH, num_merges=8)
    assert changes(lambda: w.chips.value, lambda: setattr(w.step, "value", 3))
    assert changes(lambda: w.table.value, lambda: setattr(w.text, "value", "abab abab cdcd cdcd abab"))
    assert_all_tested(w.view, [w.text, w.step])
    for value, says in [("", "Type some text"), ("x" * (w.max_chars + 1), "please shorten it")]:
        w.text.value = value
        assert says in sentence(w.message.value) and w.chips.value == "" and w.table.value == ""
    w.text.value = PARAGRAPH
    assert w.message.value == "" and w.chips.value != ""


# --- surprisal, the loss curve ------------------------------------------------------------------------------


def test_every_surprisal_control_changes_what_it_shows(tiny):
    w = SurprisalWidget(tiny, "It is a truth universally acknowledged.")
    assert changes(lambda: w.output.value, lambda: setattr(w.top_k, "value", 2))
    w.text.value = "Emma Woodhouse, handsome, clever, and rich."
    assert changes(lambda: w.output.value, w.read_button.click)
    assert_all_tested(w.view, [w.text, w.top_k, w.read_button])
    for value, says in [("A", "two tokens"), ("", "empty"), ("word " * 1000, "at most")]:
        w.text.value = value
        w.read_button.click()
        assert says in sentence(w.message.value) and w.output.value == ""
    w.text.value = "It is a truth."
    assert w.read() and w.message.value == ""


def test_the_loss_curve_shows_no_controls_and_redraws():
    from gpt2lab.training.history import LossHistory

    curve = LiveLossCurve("Training")
    assert_all_tested(curve.view, [])
    history = LossHistory(total_steps=10, steps=[1, 2], train_losses=[5.0, 4.8], eval_steps=[0], eval_losses=[5.1])
    curve.update(history)
    first = curve.image.value
    history.steps.append(3)
    history.train_losses.append(4.5)
    curve.update(history)
    assert first[:4] == b"\x89PNG" and curve.image.value != first and "step 3 of 10" in curve.status.value

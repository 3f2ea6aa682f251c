"""Two explorers: type text and see its tokens (and the merges of one word); train a BPE and watch it grow.

Built from core ipywidgets only (Textarea, ToggleButtons, Dropdown, IntSlider, HTML), so it works in
JupyterLab 4, Notebook 7 and Colab with no extra widget manager, and every control can be reached with
Tab and driven with the keyboard (arrow keys move the slider). All drawing is done by
:mod:`gpt2lab.viz.token_chips`; this module only wires controls to it.

    explorer = TokenizerExplorer(gpt2_tokenizer())
    explorer            # shows it in a notebook
    explorer.text.value = "naïve café"   # what typing does; the chips update at once

    trainer = BPETrainingExplorer("a paragraph to learn merges from ...")
"""

from __future__ import annotations

import ipywidgets as widgets

from gpt2lab.tokenizer.bpe_training import TrainingRun, train_bpe
from gpt2lab.errors import LabError
from gpt2lab.tokenizer.bpe import BPETokenizer, EncodingWork
from gpt2lab.viz.labels import token_label
from gpt2lab.viz.token_chips import learned_merges_html, merge_steps_html, token_chips_html
from gpt2lab.viz.presenter import themed
from gpt2lab.widgets.controls import error_html, wrapping_row

MAX_CHARS = 2_000  # more would be thousands of chips: slow to draw, and nothing more to learn
DEFAULT_TEXT = "Hello world! GPT-2 reads bytes: naïve café 😀"
SHOW_OPTIONS = (("text", "text"), ("vocab.json form", "printable"), ("bytes", "bytes"))


def as_bpe_tokenizer(tokenizer) -> BPETokenizer:
    """Accept gpt2lab's :class:`BPETokenizer`, or a Hugging Face GPT2TokenizerFast (``lab.tokenizer``)."""
    if isinstance(tokenizer, BPETokenizer):
        return tokenizer
    if hasattr(tokenizer, "backend_tokenizer"):
        return BPETokenizer.from_hf(tokenizer)
    raise LabError(f"Give the explorer a tokenizer (for example gpt2_tokenizer()), not {type(tokenizer).__name__}.")


def word_label(index: int, text: str) -> str:
    """A dropdown label for one pre-token, whitespace drawn: ``word_label(2, " world") == "2: ·world"``."""
    return f"{index}: " + token_label(text)


class TokenizerExplorer:
    """Text in, coloured token chips out; pick one pre-token ("word") and step through its merges."""

    def __init__(self, tokenizer, text: str = DEFAULT_TEXT, max_chars: int = MAX_CHARS):
        self.tokenizer = as_bpe_tokenizer(tokenizer)
        self.max_chars = max_chars
        self.work: EncodingWork | None = None  # the last text that encoded without error

        self.text = widgets.Textarea(value=text, description="Text", placeholder="Type any text",
                                     layout=widgets.Layout(width="95%", height="80px"))
        self.show = widgets.ToggleButtons(options=SHOW_OPTIONS, value="text", description="Show",
                                          tooltips=["readable text; · is a space, ↵ a newline",
                                                    "as written in vocab.json (Ġ is a space)", "UTF-8 bytes in hex"])
        self.summary = widgets.HTML()
        self.chips = widgets.HTML()
        self.message = widgets.HTML()  # learner errors appear here, in one sentence
        self.word = widgets.Dropdown(description="Word", options=[], layout=widgets.Layout(width="20em"))
        self.step = widgets.IntSlider(description="Merge step", min=0, max=0, value=0, continuous_update=True,
                                      layout=widgets.Layout(width="24em"))
        self.merges = widgets.HTML()

        self.text.observe(self.on_text_change, names="value")
        self.show.observe(self.on_show_change, names="value")
        self.word.observe(self.on_word_change, names="value")
        self.step.observe(self.on_step_change, names="value")
        self.view = themed(widgets.VBox([
            self.text, self.show, self.message, self.summary, self.chips,
            widgets.HTML("<b>Step through the merges of one word</b> (pick it, then move the slider with ← →)"),
            wrapping_row([self.word, self.step]), self.merges,
        ]))
        self.on_text_change()

    def _repr_mimebundle_(self, **kwargs):
        return self.view._repr_mimebundle_(**kwargs)

    # -- callbacks: each one is called by ipywidgets, and can be called directly in tests ----------

    def on_text_change(self, change=None) -> None:
        """Re-encode the text; on a learner error, say why and keep the last good view."""
        try:
            self.work = self.encode(self.text.value)
        except LabError as error:
            self.message.value = error_html(str(error))
            self.summary.value = self.chips.value = self.merges.value = ""  # the sentence replaces the views
            return
        self.message.value = ""
        self.summary.value = _summary_html(self.work)
        self.on_show_change()
        self._fill_words()

    def on_show_change(self, change=None) -> None:
        if self.work is not None:
            self.chips.value = token_chips_html(self.work, show=self.show.value).data

    def on_word_change(self, change=None) -> None:
        piece = self.selected_piece()
        n_merges = len(piece.merges) if piece else 0
        # set max before value, so that the value is never clamped to an old, smaller max
        self.step.max = n_merges
        self.step.value = 0
        self.step.disabled = n_merges == 0
        self.on_step_change()

    def on_step_change(self, change=None) -> None:
        piece = self.selected_piece()
        self.merges.value = "" if piece is None else merge_steps_html(piece, upto=self.step.value).data

    # -- helpers -------------------------------------------------------------------------------------

    def encode(self, text: str) -> EncodingWork:
        if len(text) > self.max_chars:
            raise LabError(f"That text has {len(text):,} characters; the explorer shows at most "
                           f"{self.max_chars:,}, so please shorten it.")
        return self.tokenizer.encode_and_show_work(text)

    def selected_piece(self):
        if self.work is None or self.word.value is None or self.word.value >= len(self.work.pieces):
            return None
        return self.work.pieces[self.word.value]

    def _fill_words(self) -> None:
        pieces = self.work.pieces
        options = [(word_label(i, p.text), i) for i, p in enumerate(pieces)]
        # start on the word with the most merges: the most to step through
        best = max(range(len(pieces)), key=lambda i: len(pieces[i].merges), default=None)
        # new options fire on_word_change once or twice on the way; the last call shows `best`
        self.word.options = options
        self.word.value = best
        self.on_word_change()


class BPETrainingExplorer:
    """Learn merges from a text, then add them one at a time with a slider and watch the tokens grow."""

    def __init__(self, text: str, num_merges: int = 40, max_chars: int = 5_000):
        self.num_merges = num_merges
        self.max_chars = max_chars
        self.run: TrainingRun | None = None  # the last text that trained without error

        self.text = widgets.Textarea(value=text, description="Text", continuous_update=False,
                                     layout=widgets.Layout(width="95%", height="100px"))
        self.step = widgets.IntSlider(description="Merges", min=0, max=0, value=0)
        self.message = widgets.HTML()
        self.summary = widgets.HTML()
        self.chips = widgets.HTML()
        self.table = widgets.HTML()
        self.text.observe(self.on_text_change, names="value")
        self.step.observe(self.on_step_change, names="value")
        self.view = themed(widgets.VBox([
            self.text, widgets.HTML("Edit the text, then leave the box (Tab) to learn again; "
                                    "move the slider with ← → to add merges one at a time."),
            self.message, self.step, self.summary, self.chips, self.table,
        ]))
        self.on_text_change()

    def _repr_mimebundle_(self, **kwargs):
        return self.view._repr_mimebundle_(**kwargs)

    def on_text_change(self, change=None) -> None:
        """Learn the merges of the new text; on a learner error, say why and keep the last run."""
        try:
            if not self.text.value:
                raise LabError("Type some text to learn merges from.")
            if len(self.text.value) > self.max_chars:
                raise LabError(f"That text has {len(self.text.value):,} characters; training here takes at "
                               f"most {self.max_chars:,}, so please shorten it.")
            self.run = train_bpe(self.text.value, self.num_merges)
        except LabError as error:
            self.message.value = error_html(str(error))
            self.summary.value = self.chips.value = self.table.value = ""
            return
        self.message.value = ""
        self.step.max = len(self.run.merges)
        self.step.value = 0
        self.on_step_change()

    def on_step_change(self, change=None) -> None:
        if self.run is None:
            return
        k = self.step.value
        work = self.run.tokenizer_after(k).encode_and_show_work(self.run.text)
        n_bytes = len(self.run.text.encode("utf-8"))
        self.summary.value = (f"after {k} of {len(self.run.merges)} merges: {n_bytes} bytes → "
                              f"<b>{len(work.ids)} tokens</b>")
        self.chips.value = token_chips_html(work).data
        self.table.value = learned_merges_html(self.run, upto=k).data


def _summary_html(work: EncodingWork) -> str:
    n_bytes = len(work.text.encode("utf-8"))
    return (f"{len(work.text)} characters · {n_bytes} bytes · {len(work.pieces)} pre-tokens · "
            f"<b>{len(work.ids)} tokens</b>")


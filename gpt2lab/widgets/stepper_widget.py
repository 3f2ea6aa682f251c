"""The generation stepper: write text one token at a time and see every choice.

    GenerationStepperWidget(lab, "It is a truth universally acknowledged")

Positions count from 0 and name where a token sits in the text: "the token at position 18" is the 19th
token, predicted by the position before it (17), which every view calls the query.

Controls: the prompt, the sampling settings (temperature, top-k, top-p, min-p, the two penalties) and max
new tokens, which apply from the next step, and the seed, which starts the draws over at Reset; Step, Back,
Play/Pause (auto-step until a stop reason) and Reset. Views: the text so far (newest token highlighted), the
next-token bar chart (kept/cut boundary and chosen token marked), one button per candidate that
forces that token instead (a branch), the branches tried so far (pick one to return to it), and what
the last position attended to, for a chosen layer and head, when it predicted the newest token.

A thin wrapper over :class:`gpt2lab.generation.loop.Stepper` and :mod:`gpt2lab.viz.sampling_plots` (the bar
chart is the HTML twin of ``next_token_chart``, so a step redraws in milliseconds). Every
callback can be called directly (tests do: ``widget.step_button.click()``); ``play_steps(n)`` is the
synchronous heart of Play, which runs it in a background thread so the notebook stays responsive.
"""

from __future__ import annotations

import threading
import time

import ipywidgets as widgets

from gpt2lab.errors import LabError
from gpt2lab.generation.loop import Step
from gpt2lab.generation.stepper import Stepper
from gpt2lab.generation.stopping import STOP_REASONS
from gpt2lab.viz.presenter import themed
from gpt2lab.viz.labels import plural, share_label
from gpt2lab.viz.sampling_plots import (attention_text_html, branch_tree_html, next_token_bars_html, text_so_far_html,
                                        token_label, top_rows)
from gpt2lab.viz.sampling_plots import distribution_chart
from gpt2lab.widgets.controls import SamplingControls, SaveControl, checked_prompt, error_html, wrapping_row
from gpt2lab.widgets.why_panel import WhyThisTokenPanel

N_BARS = 12  # rows of the bar chart
N_CHOICES = 8  # candidate buttons
PLAY_INTERVAL_S = 0.4  # pause between auto-steps, so a class can follow


class GenerationStepperWidget:
    """Step through generation by hand. ``widget.stepper`` is the :class:`Stepper` it drives."""

    def __init__(self, lab, prompt: str = "The meaning of life is", *, temperature: float = 1.0, top_k: int | None = 40,
                 top_p: float = 1.0, max_new_tokens: int = 40, seed: int = 0, n_bars: int = N_BARS,
                 n_choices: int = N_CHOICES, play_interval: float = PLAY_INTERVAL_S):
        self.lab = lab
        self.n_bars = n_bars
        self.play_interval = play_interval
        self.stepper: Stepper | None = None
        self.lock = threading.RLock()  # one action at a time: a click during Play waits for the step in flight
        self.playing = False
        self._thread: threading.Thread | None = None
        self._updating = False  # True while the widget itself sets the branch list (not a learner's pick)

        self.prompt = widgets.Textarea(value=prompt, description="Prompt", layout=widgets.Layout(width="95%", height="4em"))
        self.controls = SamplingControls(temperature, top_k, top_p, max_new_tokens, seed)
        self.step_button = widgets.Button(description="Step", icon="step-forward", tooltip="choose one more token")
        self.back_button = widgets.Button(description="Back", icon="step-backward", tooltip="undo the newest token")
        self.play_button = widgets.Button(description="Play", icon="play", tooltip="step until a stop reason (click again to pause)")
        self.reset_button = widgets.Button(description="Reset", icon="undo", tooltip="start again from the prompt with the seed")
        self.message = widgets.HTML()
        self.status = widgets.HTML()
        self.text = widgets.HTML()
        self.chart = widgets.HTML()
        self.choice_buttons = [widgets.Button(layout=widgets.Layout(width="auto")) for _ in range(n_choices)]
        self.branches = widgets.Dropdown(description="Branches", options=[], style={"description_width": "initial"},
                                         layout=widgets.Layout(width="95%"))
        self.tree = widgets.HTML()  # every path tried, as a small tree (the current one in bold)
        self.layer = widgets.IntSlider(description="Layer", min=0, max=lab.config.n_layer - 1, value=lab.config.n_layer - 1,
                                       continuous_update=False, layout=widgets.Layout(width="22em"))
        self.head = widgets.IntSlider(description="Head", min=0, max=lab.config.n_head - 1, value=0, continuous_update=False,
                                      layout=widgets.Layout(width="22em"))
        self.attention = widgets.HTML()
        self.why = WhyThisTokenPanel(lab)  # "why this token": attribution and head switches for the newest token
        self.save_chart = SaveControl(self.chart_figure, "next-token.png")  # the newest step's bars, for a slide
        self.session_file = widgets.Text(value="session.json", description="Session", style={"description_width": "initial"},
                                         layout=widgets.Layout(width="18em"), tooltip="a .json file name")
        self.save_session_button = widgets.Button(description="Save session", tooltip="save prompt, settings, seed and every branch")
        self.load_session_button = widgets.Button(description="Load session", tooltip="load a saved session and replay it")
        self.html_button = widgets.Button(description="Save handout", tooltip="the session as one offline HTML page (same name, .html)")
        self.session_message = widgets.HTML()
        self.save_session_button.on_click(lambda _: self.guarded(self.save_session, area=self.session_message))
        self.load_session_button.on_click(lambda _: self.guarded(self.load_session, area=self.session_message))
        self.html_button.on_click(lambda _: self.guarded(self.save_handout, area=self.session_message))

        self.step_button.on_click(lambda _: self.guarded(self.do_step))
        self.back_button.on_click(lambda _: self.guarded(self.do_back))
        self.play_button.on_click(lambda _: self.toggle_play())
        self.reset_button.on_click(lambda _: self.guarded(self.do_reset))
        for button in self.choice_buttons:
            button.on_click(lambda b: self.guarded(self.do_branch, b.token_id))
        self.branches.observe(self.on_branch_pick, names="value")
        self.layer.observe(lambda _: self.show_attention(), names="value")
        self.head.observe(lambda _: self.show_attention(), names="value")
        self.controls.seed.observe(lambda _: self.show_status(), names="value")  # says when a new seed will start

        self.view = widgets.VBox([
            self.prompt, self.controls.box,
            wrapping_row([self.step_button, self.back_button, self.play_button, self.reset_button]),
            self.message, self.status, self.text,
            widgets.HTML("<b>Next-token distribution</b> of the newest step (grey names were cut; click a token below to take it instead)"),
            self.chart, wrapping_row(self.choice_buttons),
            self.branches, self.tree,
            widgets.HTML("<b>Attention</b> of the position that chose the newest token"),
            wrapping_row([self.layer, self.head]), self.attention,
            self.save_chart.box,
            wrapping_row([self.session_file, self.save_session_button, self.load_session_button, self.html_button]),
            self.session_message,
            self.why.view,
        ])
        themed(self.view, redraw=self.refresh)  # the gpt2lab class, and the display mode's style inside (Colab)
        # names for the parts a browser test (or a course's own CSS) looks for
        self.text.add_class("gpt2lab-text-so-far")
        self.chart.add_class("gpt2lab-next-token-chart")
        for button in self.choice_buttons:
            button.add_class("gpt2lab-candidate")
        self.guarded(self.do_reset)

    def _repr_mimebundle_(self, **kwargs):
        return self.view._repr_mimebundle_(**kwargs)

    # -- actions: each is a plain method, wrapped by `guarded` for the buttons ----------------------------

    def guarded(self, action, *args, area=None) -> bool:
        """Run an action; a learner's mistake shows as one sentence in the widget. True if it succeeded.

        The sentence replaces what the action's area showed: the session line for the session buttons, the
        text and chart for the others (they come back with the next good action; the stepper is unchanged).
        """
        with self.lock:
            try:
                action(*args)
            except LabError as error:
                if area is None:
                    self.message.value = error_html(str(error))
                    self.status.value = self.text.value = self.chart.value = self.tree.value = ""
                    for button in self.choice_buttons:
                        button.layout.display = "none"
                else:
                    area.value = error_html(str(error))
                return False
            self.message.value = ""
            self.refresh()
            return True

    def do_reset(self) -> None:
        settings = self.controls.settings()
        prompt = checked_prompt(self.prompt.value)
        if self.stepper is None:
            self.stepper = Stepper(self.lab, prompt, settings)
        else:
            self.stepper.reset(prompt, settings)

    def chart_figure(self):
        """The newest step's next-token bars as a figure (what Save PNG/SVG writes), or None before a step."""
        step = self.stepper.last if self.stepper is not None else None
        if step is None or step.probs is None:
            return None
        return distribution_chart(step.probs, step.filtered, self.lab.token_strings, self.n_bars, step.token_id,
                                  title=f"The token at position {step.position}: {step.settings.describe()}")

    def save_session(self) -> None:
        """Save the session to the typed file name (JSON)."""
        self._require_stepper().save(self.session_file.value.strip())
        self.session_message.value = f"saved <code>{self.session_file.value.strip()}</code>"

    def load_session(self) -> None:
        """Load the typed session file and replay it: text, branches, settings and seed as saved."""
        stepper = Stepper.load(self.session_file.value.strip(), self.lab)
        self.stepper = stepper
        self.prompt.value = stepper.prompt
        self.controls.show(stepper.settings)
        self.session_message.value = f"loaded <code>{self.session_file.value.strip()}</code>"

    def save_handout(self) -> None:
        """Write the session as one offline HTML page, beside the session file."""
        name = self.session_file.value.strip()
        path = (name[: -len(".json")] if name.endswith(".json") else name) + ".html"
        try:
            self._require_stepper().save_html(path)
        except OSError as err:
            raise LabError(f"Could not write {path!r} ({err.strerror}); choose another file name.") from None
        self.session_message.value = f"saved <code>{path}</code>"

    def do_step(self) -> Step:
        if self.stepper is None or self.prompt.value != self.stepper.prompt:
            self.do_reset()  # a new prompt was typed: start from it
        self.stepper.settings = self.controls.settings()  # slider changes apply from the next step
        return self.stepper.step()

    def do_back(self) -> None:
        self._require_stepper().back()

    def do_branch(self, token_id: int) -> None:
        self._require_stepper().branch(token_id)

    def _require_stepper(self) -> Stepper:
        if self.stepper is None:
            raise LabError("Type a prompt and press Reset first.")
        return self.stepper

    def on_branch_pick(self, change) -> None:
        if self._updating or change["new"] is None:
            return
        self.guarded(self._require_stepper().goto, change["new"])

    # -- play ---------------------------------------------------------------------------------------------

    def play_steps(self, n: int) -> int:
        """Take up to ``n`` steps now (stopping at a stop reason or a mistake), redrawing after each.

        Returns the number of steps taken. This is what Play does, one step at a time.
        """
        taken = 0
        for _ in range(n):
            if self.stepper is not None and self.stepper.stop_reason is not None:
                break
            if not self.guarded(self.do_step):
                break
            taken += 1
        return taken

    def toggle_play(self) -> None:
        """Start auto-stepping in a background thread, or pause it."""
        if self.playing:
            self.playing = False
            return
        self.playing = True
        self.play_button.description, self.play_button.icon = "Pause", "pause"
        self._thread = threading.Thread(target=self._play_loop, daemon=True)
        self._thread.start()

    def _play_loop(self) -> None:
        try:
            while self.playing and self.play_steps(1) == 1:
                time.sleep(self.play_interval)
        finally:
            self.playing = False
            self.play_button.description, self.play_button.icon = "Play", "play"

    def wait(self, timeout: float | None = None) -> None:
        """Block until auto-play has stopped (for tests and scripts)."""
        if self._thread is not None:
            self._thread.join(timeout)

    # -- drawing ------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Redraw every view from the stepper's state."""
        s = self.stepper
        if s is None:
            return
        lab = self.lab
        self.text.value = text_so_far_html(lab.token_strings(s.prompt_ids), lab.token_strings(s.new_ids),
                                           [step.forced for step in s.steps]).data
        self.show_status()
        self.back_button.disabled = not s.steps
        last = s.last
        if last is None:
            self.chart.value = ""
            for button in self.choice_buttons:
                button.layout.display = "none"
        else:
            self.chart.value = self.chart_html(last)
            self._show_choices(last)
        self._show_branches(s)
        self.show_attention()
        self.why.explain_step(last)

    def show_status(self) -> None:
        """The status line: where the text stands, the settings and seed in force, the newest token."""
        if self.stepper is not None:
            self.status.value = self._status_html(self.stepper)

    def _status_html(self, s: Stepper) -> str:
        c = self.lab.config
        line = (f"{len(s.ids):,} of {c.n_ctx:,} context tokens · {len(s.steps)} of {s.settings.max_new_tokens} "
                f"new tokens · {s.settings.describe()} · seed {s.seed_used}")
        if self.controls.seed.value != s.seed_used:
            line += f" (seed {self.controls.seed.value} starts at Reset)"
        last = s.last
        if last is not None:
            how = "chosen by hand" if last.forced else f"rank {last.rank}, drawn with p = {last.prob:.3f}"
            line += (f"<br>newest: <b>{token_label(last.token)}</b> at position {last.position} (id {last.token_id}, {how}; "
                     f"{plural(last.n_kept, 'token')} survived the filters)")
        if s.stop_reason is not None:
            line += f'<br><b style="color:#b71c1c">Stopped:</b> {STOP_REASONS[s.stop_reason]}.'
        return f"<div>{line}</div>"

    def chart_html(self, step: Step) -> str:
        """The next-token bars of one step (HTML: redrawn at every step in a few milliseconds)."""
        rows = top_rows(step.probs, step.filtered, self.n_bars, chosen_id=step.token_id)
        return next_token_bars_html(step.probs[rows.ids], step.filtered[rows.ids], self.lab.token_strings(rows.ids),
                                    ranks=rows.ranks, chosen=rows.chosen,
                                    title=f"The token at position {step.position}: {step.settings.describe()}").data

    def _show_choices(self, step: Step) -> None:
        rows = top_rows(step.probs, step.filtered, len(self.choice_buttons))
        tokens = self.lab.token_strings(rows.ids)
        for button, token_id, token in zip(self.choice_buttons, rows.ids, tokens):
            button.token_id = token_id
            drawn = float(step.filtered[token_id])  # the same number as the chart's "p" column
            button.description = f"{token_label(token)}  " + (share_label(drawn) if drawn > 0 else "cut")
            button.tooltip = f"take {token!r} (id {token_id}) instead of {step.token!r}"
            button.button_style = "warning" if token_id == step.token_id else ""
            button.layout.display = None
        for button in self.choice_buttons[len(rows.ids):]:
            button.layout.display = "none"

    def _show_branches(self, s: Stepper) -> None:
        paths = s.branches()
        current = tuple(s.new_ids)
        options = []
        for number, path in enumerate(paths, start=1):
            mark = "  ◀ here" if path == current else ""
            options.append((f"{number}. …{self._tail(path)} ({plural(len(path), 'token')}){mark}", path))
        if paths and current not in paths:  # after Back (or a pick of a shorter path): where we are is inside a branch
            options.insert(0, (f"here: …{self._tail(current)} ({plural(len(current), 'token')}, inside a branch)", current))
        self.tree.value = branch_tree_html(paths, self.lab.token_strings, current).data if len(paths) > 1 else ""
        self._updating = True
        try:
            self.branches.options = options
            self.branches.value = current if options else None
        finally:
            self._updating = False

    def _tail(self, path) -> str:
        """The last words of a path, for the branch list (the prompt's own, if nothing was generated yet)."""
        text = self.lab.decode(list(path)) if path else self.stepper.prompt
        return text[-50:].replace("\n", "↵")

    def show_attention(self) -> None:
        """Shade the context by the attention of the position that predicted the newest token."""
        s = self.stepper
        last = s.last if s is not None else None
        if last is None:
            self.attention.value = "<i>Press Step to see where the model looks.</i>"
            return
        layer, head = self.layer.value, self.head.value
        weights = last.attention[layer, head]  # (T_all,)
        tokens = last.trace.context_tokens
        label = (f"Layer {layer}, head {head}: the query at position {last.position - 1} "
                 f"({token_label(tokens[-1])}) when it predicted the token at position {last.position}, "
                 f"{token_label(last.token)}")
        self.attention.value = attention_text_html(weights, tokens, label).data

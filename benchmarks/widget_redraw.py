"""How long a widget takes to redraw after a control changes: the classroom's target is 0.5 s on the embedded
model on a 2-core machine. Each control is set as ipywidgets sets it (``control.value = ...``), which runs the
widget's own callback; the time is until the callback returns, with every view updated.

    python benchmarks/widget_redraw.py                      # the embedded model, 2 threads
    python benchmarks/widget_redraw.py --model /tmp/standin --threads 2 --repeat 7

Each figure is the median of ``--repeat`` changes after one warm-up, with min and max, in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gpt2lab  # noqa: E402
from gpt2lab.widgets.attention_explorer import AttentionExplorer  # noqa: E402
from gpt2lab.widgets.essay_widget import EssayWidget  # noqa: E402
from gpt2lab.widgets.sampling_lab import SamplingLabWidget  # noqa: E402
from gpt2lab.widgets.stepper_widget import GenerationStepperWidget  # noqa: E402
from gpt2lab.widgets.surprisal_widget import SurprisalWidget  # noqa: E402
from gpt2lab.widgets.tokenizer_widget import TokenizerExplorer  # noqa: E402

PROMPT = "It is a truth universally acknowledged, that a single man in possession of a good fortune"
TARGET_MS = 500


def toggling(control, a, b):
    """A change that alternates between two values, so every call really changes the control."""
    state = {"next": b}

    def change():
        control.value = state["next"]
        state["next"] = a if state["next"] == b else b

    return change


def timed(change, repeat: int) -> tuple[float, float, float]:
    change()  # warm-up
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        change()
        runs.append(1000 * (time.perf_counter() - start))
    return statistics.median(runs), min(runs), max(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    lab = gpt2lab.load(args.model)
    lab_widget = SamplingLabWidget(lab, PROMPT)
    stepper = GenerationStepperWidget(lab, PROMPT, top_k=40)
    stepper.play_steps(5)
    explorer = AttentionExplorer(lab, "The cat sat on the mat because it was tired.")
    tokens = TokenizerExplorer(lab.tokenizer)
    surprisal = SurprisalWidget(lab, PROMPT)
    essay = EssayWidget(lab, "It is a truth", paragraphs=1, max_new_tokens=40)
    c = lab_widget.controls
    cases = {
        "sampling lab: temperature": toggling(c.temperature, 1.0, 1.3),
        "sampling lab: top-p": toggling(c.top_p, 1.0, 0.9),
        "sampling lab: no repeat n-gram": toggling(c.no_repeat_ngram_size, 2, 3),
        "sampling lab: seed": toggling(c.seed, 0, 1),
        "sampling lab: tokens shown": toggling(lab_widget.rows, 15, 20),
        "sampling lab: prompt": toggling(lab_widget.prompt, PROMPT, "Emma Woodhouse, handsome, clever, and rich,"),
        "stepper: Step": stepper.step_button.click,
        "stepper: Back + Step": lambda: (stepper.back_button.click(), stepper.step_button.click()),
        "stepper: layer": toggling(stepper.layer, 0, 1),
        "attention explorer: head": toggling(explorer.head, 0, 1),
        "attention explorer: scores -> mask -> softmax": toggling(explorer.show, "pattern", "mask"),
        "tokenizer: show bytes": toggling(tokens.show, "text", "bytes"),
        "surprisal: alternatives": toggling(surprisal.top_k, 5, 3),
        "essay: Generate (40 tokens)": essay.generate_button.click,
    }
    print(f"model {lab.name}, {args.threads} threads, median of {args.repeat} (min-max), target {TARGET_MS} ms")
    for name, change in cases.items():
        median, low, high = timed(change, args.repeat)
        mark = "" if median <= TARGET_MS or name.startswith("essay") else "  <- over the target"
        print(f"{name:48} {median:8.1f} ms  ({low:.1f}-{high:.1f}){mark}")


if __name__ == "__main__":
    main()

"""The essay generator as a small web app (optional: ``pip install "gpt2lab[app]"``, which brings gradio).

    gpt2lab app                                      # http://127.0.0.1:7860, the model "auto" picks
    python -m gpt2lab.apps.web                       # the same
    python -m gpt2lab.apps.web --model tiny --port 7861

It listens on 127.0.0.1 only (this computer), and opens a public gradio.live share link only when
started with ``--share``. The page calls one function, also reachable as the API endpoint ``/essay``.
"""

from __future__ import annotations

import argparse
import os
import sys

from gpt2lab.errors import LabError
from gpt2lab.apps.essay import ESSAY_SETTINGS, write_essay

HOST = "127.0.0.1"  # this computer only: a classroom laptop must not serve the whole network by accident
DEFAULT_PORT = 7860


def essay_text(lab, prompt: str, paragraphs: float, temperature: float, top_k: float, top_p: float,
               max_new_tokens: float, seed: float) -> str:
    """The app's one function: the essay as text (top_k 0 in the app means no top-k cut)."""
    essay = write_essay(lab, prompt, paragraphs=int(paragraphs), max_new_tokens=int(max_new_tokens),
                        temperature=float(temperature), top_k=int(top_k) or None, top_p=float(top_p), seed=int(seed))
    return essay.text


def essay_and_reason(lab, prompt: str, paragraphs: float, temperature: float, top_k: float, top_p: float,
                     max_new_tokens: float, seed: float) -> tuple[str, str]:
    """What the page shows: the essay, and in one sentence why it stopped (how many of the paragraphs asked for)."""
    essay = write_essay(lab, prompt, paragraphs=int(paragraphs), max_new_tokens=int(max_new_tokens),
                        temperature=float(temperature), top_k=int(top_k) or None, top_p=float(top_p), seed=int(seed))
    return essay.text, essay.stop_explanation


def build_app(lab):
    """A gradio ``Blocks`` app around :func:`essay_text` for ``lab``."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # a classroom tool phones nobody
    import gradio as gr

    def run(*values):
        try:
            return essay_and_reason(lab, *values)
        except LabError as error:
            raise gr.Error(str(error)) from None  # the one sentence, shown in the page

    with gr.Blocks(title="gpt2lab essay generator") as app:
        gr.Markdown(f"# Essay generator\nGPT-2 continues your prompt one token at a time (model: **{lab.name}**).")
        prompt = gr.Textbox(label="Prompt", value="It is a truth universally acknowledged", lines=2)
        with gr.Row():
            paragraphs = gr.Slider(1, 6, value=3, step=1, label="Paragraphs")
            temperature = gr.Slider(0, 2, value=ESSAY_SETTINGS["temperature"], step=0.05, label="Temperature (0 = greedy)")
            top_k = gr.Slider(0, 200, value=ESSAY_SETTINGS["top_k"], step=1, label="top-k (0 = off)")
            top_p = gr.Slider(0.01, 1, value=ESSAY_SETTINGS["top_p"], step=0.01, label="top-p (1 = off)")
        with gr.Row():
            max_new_tokens = gr.Slider(1, 1000, value=ESSAY_SETTINGS["max_new_tokens"], step=1, label="Most new tokens")
            seed = gr.Number(value=0, precision=0, label="Seed")
        button = gr.Button("Generate", variant="primary")
        output = gr.Textbox(label="Essay", lines=12)
        reason = gr.Textbox(label="Why it stopped", lines=1)
        button.click(run, [prompt, paragraphs, temperature, top_k, top_p, max_new_tokens, seed], [output, reason],
                     api_name="essay")
    return app


def main(argv: list[str] | None = None, prog: str = "python -m gpt2lab.apps.web") -> int:
    parser = argparse.ArgumentParser(prog=prog, description="The gpt2lab essay generator as a local web app.")
    parser.add_argument("--model", default=None, help="tiny, gpt2, ..., a folder, or auto (default: $GPT2LAB_MODEL, else auto)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link (off unless asked)")
    args = parser.parse_args(argv)
    try:
        import gradio  # noqa: F401
    except ImportError:
        print('gpt2lab: the web app needs gradio; install it with: pip install "gpt2lab[app]"', file=sys.stderr)
        return 2
    from gpt2lab import load

    try:  # load() is quiet: no progress bar from transformers
        lab = load(args.model)
    except LabError as error:
        print(f"gpt2lab: {error}", file=sys.stderr)
        return 2
    build_app(lab).launch(server_name=HOST, server_port=args.port, share=args.share, inbrowser=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

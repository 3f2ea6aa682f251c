"""The ``gpt2lab`` command (also ``python -m gpt2lab``): the course, the essay generator, the web app, training.

    gpt2lab course [FOLDER]               # copy the notebooks into FOLDER and open them in JupyterLab
    gpt2lab essay "It is a truth universally acknowledged"
    gpt2lab "The history of tea" --model gpt2 --paragraphs 2 --temperature 0.7 --seed 3   # essay is the default
    gpt2lab essay "Mr. Darcy" --model tiny --steps 5      # and each step's 5 likeliest candidates
    gpt2lab app                           # the essay generator as a web page on 127.0.0.1 (needs gpt2lab[app])
    gpt2lab train --minutes 10            # train a tiny GPT-2 on Jane Austen (gpt2lab.training.pretrain)
    gpt2lab evaluate [FOLDER]             # recompute a model folder's held-out loss (gpt2lab.training.evaluate)

A first argument that is not a sub-command is the essay's prompt, so ``gpt2lab "prompt"`` writes an
essay. The essay prints on stdout (the per-step table after it, with ``--steps``). A mistake in the
input prints one line on stderr and exits with code 2.
"""

from __future__ import annotations

import argparse
import sys

from gpt2lab.errors import LabError
from gpt2lab.apps.essay import ESSAY_SETTINGS, Essay, check_essay_request, write_essay


def parse_args(argv: list[str] | None = None, prog: str = "gpt2lab essay") -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description="Write a short essay that continues a prompt, with GPT-2.")
    parser.add_argument("prompt", help="the text to continue")
    parser.add_argument("--model", default=None, help="tiny, gpt2, gpt2-medium, ..., a folder, or auto (default: $GPT2LAB_MODEL, else auto: real gpt2 if at hand, else tiny)")
    parser.add_argument("--paragraphs", type=int, default=3, help="paragraphs to write (default 3)")
    parser.add_argument("--max-new-tokens", type=int, default=ESSAY_SETTINGS["max_new_tokens"], help="most tokens to write")
    parser.add_argument("--temperature", type=float, default=ESSAY_SETTINGS["temperature"], help="0 = greedy")
    parser.add_argument("--top-k", type=int, default=ESSAY_SETTINGS["top_k"], help="keep the k likeliest tokens (default 40)")
    parser.add_argument("--no-top-k", action="store_true", help="no top-k cut")
    parser.add_argument("--top-p", type=float, default=ESSAY_SETTINGS["top_p"], help="nucleus size, 1 = off")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    parser.add_argument("--steps", type=int, nargs="?", const=5, default=0, metavar="N",
                        help="after the essay, print each step's N likeliest candidates (default 5)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: $GPT2LAB_DEVICE, else the CPU)")
    return parser.parse_args(argv)


def steps_table(essay: Essay, n: int) -> str:
    """One block per step: position, the token chosen with its probability and rank, and the top candidates."""
    lines = [f"{'pos':>5}  {'chosen':<18} {'p':>6} {'rank':>5}   top {n} candidates (p)"]
    for step in essay.steps:
        candidates = "  ".join(f"{c.token!r} {c.prob:.3f}" for c in step.candidates[:n])
        lines.append(f"{step.position:>5}  {step.token!r:<18} {step.prob:>6.3f} {step.rank:>5}   {candidates}")
    return "\n".join(lines)


def essay_main(argv: list[str] | None = None, prog: str = "gpt2lab essay") -> int:
    """``gpt2lab essay "prompt" ...``: write one essay."""
    args = parse_args(argv, prog)
    request = dict(paragraphs=args.paragraphs, max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                   top_k=None if args.no_top_k else args.top_k, top_p=args.top_p, seed=args.seed)
    try:
        check_essay_request(args.prompt, **request)  # a mistake is reported before the model loads
        from gpt2lab import load

        lab = load(args.model, device=args.device)
        print(f"gpt2lab: {lab.name} ({lab.n_params() / 1e6:.1f}M parameters, {lab.source})", file=sys.stderr)
        essay = write_essay(lab, args.prompt, **request)
    except LabError as error:
        print(f"gpt2lab: {error}", file=sys.stderr)
        return 2
    print(f"gpt2lab: {len(essay.steps)} tokens written with {essay.settings.describe()}, seed {essay.settings.seed}; "
          f"stopped: {essay.stop_reason.replace('_', ' ')} — {essay.stop_explanation}", file=sys.stderr)
    print(essay.text)
    if args.steps:
        print()
        print(steps_table(essay, args.steps))
    return 0


def course_main(argv: list[str]) -> int:
    from gpt2lab.apps.course import main as course

    return course(argv, prog="gpt2lab course")


def app_main(argv: list[str]) -> int:
    from gpt2lab.apps.web import main as web

    return web(argv, prog="gpt2lab app")


def train_main(argv: list[str]) -> int:
    from gpt2lab.training.pretrain import main as pretrain

    pretrain(argv, prog="gpt2lab train")
    return 0


def evaluate_main(argv: list[str]) -> int:
    from gpt2lab.training.evaluate import main as evaluate

    evaluate(argv, prog="gpt2lab evaluate")
    return 0


# name -> (what it does, its entry point taking the rest of the command line)
SUBCOMMANDS = {
    "course": ("copy the course's notebooks into a folder and open them in JupyterLab", course_main),
    "essay": ("write a short essay that continues a prompt (the default: gpt2lab \"prompt\")", essay_main),
    "app": ("the essay generator as a web page on 127.0.0.1 (needs: pip install \"gpt2lab[app]\")", app_main),
    "train": ("train a tiny GPT-2 on Jane Austen (gpt2lab.training.pretrain)", train_main),
    "evaluate": ("recompute a model folder's held-out loss (gpt2lab.training.evaluate)", evaluate_main),
}


def overview() -> str:
    lines = ["usage: gpt2lab COMMAND [--help] ...     or: gpt2lab \"prompt\" [essay options]", "",
             "gpt2lab, the GPT-2 teaching kit. Commands:"]
    lines += [f"  {name:<9} {what}" for name, (what, _) in SUBCOMMANDS.items()]
    lines += ["", "gpt2lab COMMAND --help shows a command's options. Start with: gpt2lab course"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """The ``gpt2lab`` command: a sub-command, or (a first argument that is none) the essay generator."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(overview())
        return 0
    if argv[0] in SUBCOMMANDS:
        return SUBCOMMANDS[argv[0]][1](argv[1:])
    return essay_main(argv, prog="gpt2lab")


if __name__ == "__main__":
    sys.exit(main())

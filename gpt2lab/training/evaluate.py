"""Recompute a model folder's held-out loss: ``python -m gpt2lab.training.evaluate [folder]``.

Reloads the shipped folder (fp16 weights as fp32, its own tokenizer), tokenizes the held-out Austen
text (the last 5% of each novel, see ``gpt2lab.training.corpus``) and measures the loss per token
and per character exactly as the model card does (through gpt2lab's own forward pass), then compares with
the folder's ``metrics.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from gpt2lab.loading import EMBEDDED_PATH

DEFAULT_FOLDER = EMBEDDED_PATH


def evaluate_folder(folder: Path = DEFAULT_FOLDER, subset: bool = False) -> dict:
    """Held-out figures of the model in ``folder``: {"heldout_loss_per_token": ..., "heldout_loss_per_char": ...}.

    ``subset=True`` measures only the first ``SUBSET_CHARS`` held-out characters, to compare with
    ``metrics.json["heldout_subset"]`` in a few seconds.
    """
    from transformers import GPT2LMHeadModel, GPT2TokenizerFast

    from gpt2lab.training.corpus import load_split
    from gpt2lab.training.export import SUBSET_CHARS, heldout_metrics

    model = GPT2LMHeadModel.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager")
    tokenizer = GPT2TokenizerFast.from_pretrained(folder)
    assert len(tokenizer) == model.config.vocab_size  # guards against the silently empty tokenizer
    # a CI-sized run (--slice-chars) was measured on a shorter held-out text; use the same one
    card = json.loads((Path(folder) / "metrics.json").read_text())
    _, heldout_text = load_split(card.get("slice_chars"))
    if subset:
        heldout_text = heldout_text[:SUBSET_CHARS]
    ids = torch.tensor(tokenizer(heldout_text).input_ids)  # (M,)
    return heldout_metrics(model, ids, heldout_text, model.config.n_positions)


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--subset", action="store_true", help="only the first 50,000 held-out characters")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)  # the command line decides the threads; the library never does
    measured = evaluate_folder(args.folder, args.subset)
    card = json.loads((args.folder / "metrics.json").read_text())
    card = card["heldout_subset"] if args.subset else card
    for key in ("heldout_loss_per_token", "heldout_loss_per_char"):
        print(f"{key}: {measured[key]:.4f} (metrics.json: {card[key]:.4f})")


if __name__ == "__main__":
    main()

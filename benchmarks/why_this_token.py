"""How long the why-this-token analyses take: surprisal, direct logit attribution, an ablated trace and
activation patching, on the IOI prompt (14 tokens).

    python benchmarks/why_this_token.py                    # the embedded model
    python benchmarks/why_this_token.py --model /tmp/standin --threads 2

Each figure is the median of ``--repeat`` runs after one warm-up, with min and max, in milliseconds.
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
from gpt2lab.analysis.attribution import direct_logit_attribution  # noqa: E402
from gpt2lab.analysis.patching import patch_residual  # noqa: E402

CLEAN = "When Mary and John went to the store, John gave a drink to"
CORRUPTED = "When Mary and John went to the store, Mary gave a drink to"


def timed(fn, repeat: int) -> tuple[float, float, float]:
    fn()  # warm-up
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(1000 * (time.perf_counter() - start))
    return statistics.median(runs), min(runs), max(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    lab = gpt2lab.load(args.model)
    trace = lab.trace(CLEAN)
    top = int(trace.logits[-1].argmax())
    cases = {
        "trace (14 tokens)": lambda: lab.trace(CLEAN),
        "surprisal (14 tokens)": lambda: lab.surprisal(CLEAN),
        "direct logit attribution": lambda: direct_logit_attribution(lab, trace, -1, top),
        "trace with 2 heads ablated": lambda: lab.trace(CLEAN, ablate_heads=[(0, 0), (lab.config.n_layer - 1, 1)]),
        "patch_residual (IOI grid)": lambda: patch_residual(lab, CLEAN, CORRUPTED, " Mary", " John"),
    }
    print(f"{lab.name}: {lab.config.n_layer} layers, {args.threads} threads, median of {args.repeat} (min-max), ms")
    for name, fn in cases.items():
        median, low, high = timed(fn, args.repeat)
        print(f"  {name:<30} {median:9.1f}  ({low:.1f}-{high:.1f})")


if __name__ == "__main__":
    main()

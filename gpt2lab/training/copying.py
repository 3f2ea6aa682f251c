"""Text that rewards copying: training windows in which a span is said again and again.

An *induction head* finds an earlier occurrence of the current token and predicts the token that followed
it (``... A B ... A`` → ``B``). Ordinary prose rewards that only now and then (a name said twice), so a small
model trained on a little prose may never grow one (Olsson et al., 2022, "In-context learning and
induction heads"). Repeating a span makes copying the only way to predict the later copies:

    window:  the Austen text ... [s1 s2 ... sL] [s1 s2 ... sL] [s1 s2 ...
                                  first copy     predictable only by copying

The span is either random token ids (nothing but copying can predict them) or a piece of the window's own
text (copying then agrees with the language). The first copy of a random span cannot be predicted at all,
so its targets get weight 0 in the loss: the model is not taught to guess noise.

    >>> g = torch.Generator().manual_seed(0)
    >>> window, weight, copy_of = tile_span(torch.arange(12), 50, g, length=3, start=4, random_tokens=False)
    >>> window.tolist()
    [0, 1, 2, 3, 4, 5, 6, 4, 5, 6, 4, 5]
    >>> copy_of.tolist()          # input position -> position of its earlier copy (-1: none)
    [-1, -1, -1, -1, -1, -1, -1, 4, 5, 6, 7]
"""

from __future__ import annotations

import torch


def tile_span(window: torch.Tensor, vocab_size: int, generator: torch.Generator, *, length: int, start: int,
              random_tokens: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A copy of ``window`` (N,) whose text from ``start`` on is one span of ``length`` tokens said again and
    again (random ids below ``vocab_size - 1``, or the window's own text at ``start``).

    Returns the window (N,); the loss weights (N - 1,) of its N - 1 next-token targets (0 where the target lies
    in a random first copy, or right after the text before it); and, for each of its N - 1 input positions,
    the position of the same token's earlier copy (-1 where there is none).
    """
    n = len(window)
    window = window.clone()  # never change the tensor handed in
    if random_tokens:  # GPT-2's last id is <|endoftext|>: leave it out
        span = torch.randint(0, vocab_size - 1, (length,), generator=generator)  # (length,)
    else:
        span = window[start : start + length].clone()  # (length,)
    reps = -(-(n - start) // length)  # enough copies to reach the end
    window[start:] = span.repeat(reps)[: n - start]
    weight = torch.ones(n - 1)  # target j is window[j + 1]
    if random_tokens:
        weight[max(start - 1, 0) : start + length - 1] = 0.0  # targets inside the random first copy
    positions = torch.arange(n - 1)  # (N - 1,)
    copy_of = torch.where(positions >= start + length, positions - length, -1)  # (N - 1,)
    return window, weight, copy_of


def mix_in_copies(windows: torch.Tensor, vocab_size: int, generator: torch.Generator, share: float,
                  min_length: int = 8, max_length: int = 64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Give a ``share`` of the rows of ``windows`` (B, N) repeated text: from a random point on, one span
    (random tokens or the row's own text, half and half; ``min_length``..``max_length`` tokens) said again
    and again. Returns the windows (B, N), the loss weights of their targets (B, N - 1) and each input
    position's earlier copy (B, N - 1; -1 where there is none)."""
    B, N = windows.shape
    out, weights, copy_of = windows.clone(), torch.ones(B, N - 1), torch.full((B, N - 1), -1)
    for row in range(B):
        if float(torch.rand((), generator=generator)) >= share:
            continue
        length = int(torch.randint(min_length, min(max_length, (N - 1) // 2) + 1, (1,), generator=generator))
        start = int(torch.randint(0, N - 2 * length, (1,), generator=generator))
        random_tokens = bool(torch.rand((), generator=generator) < 0.5)
        out[row], weights[row], copy_of[row] = tile_span(windows[row], vocab_size, generator, length=length,
                                                         start=start, random_tokens=random_tokens)
    return out, weights, copy_of

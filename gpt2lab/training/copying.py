"""Text that rewards copying: training windows with a span repeated, so induction heads pay off.

An *induction head* finds an earlier occurrence of the current token and predicts the token that followed
it (``... A B ... A`` → ``B``). Ordinary prose rewards that only now and then (a name said twice), so a small
model trained on a little prose may never grow one (Olsson et al., 2022, "In-context learning and
induction heads"). Repeating a span inside a window makes copying the only way to predict the second copy:

    window:  the Austen text ... [s1 s2 ... sL] ... more text ... [s1 s2 ... sL] ...
                                  first copy                        second copy: predictable only by copying

The span is either random token ids (nothing but copying can predict them) or a piece of the window's own
text (copying then agrees with the language). The first copy of a random span cannot be predicted at all,
so its positions get weight 0 in the loss: the model is not taught to guess noise.

    >>> g = torch.Generator().manual_seed(0)
    >>> window, weight = repeat_span(torch.arange(20), vocab_size=50, generator=g, length=4, random_tokens=True)
    >>> window.shape, weight.shape
    (torch.Size([20]), torch.Size([19]))
"""

from __future__ import annotations

import torch


def repeat_span(window: torch.Tensor, vocab_size: int, generator: torch.Generator, *, length: int,
                random_tokens: bool, gap: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A copy of ``window`` (N,) with a span of ``length`` tokens written twice, and each target's loss weight.

    ``random_tokens=True`` writes random ids (below ``vocab_size - 1``: GPT-2's last id is
    ``<|endoftext|>``); otherwise the span is the window's own text at the first copy's place. ``gap`` tokens
    of the window's text separate the copies (random if ``None``). Returns the new window (N,) and the weights
    (N - 1,) of its N - 1 next-token targets: 0 where the target lies in a random first copy, else 1.
    """
    n = len(window)
    if gap is None:
        gap = int(torch.randint(0, max(1, n - 2 * length), (1,), generator=generator))
    first = int(torch.randint(0, max(1, n - 2 * length - gap + 1), (1,), generator=generator))
    second = first + length + gap
    window = window.clone()  # never change the tensor handed in
    if random_tokens:
        span = torch.randint(0, vocab_size - 1, (length,), generator=generator)  # (length,)
    else:
        span = window[first : first + length].clone()  # (length,)
    window[first : first + length] = span
    window[second : second + length] = span
    weight = torch.ones(n - 1)  # target j is window[j + 1]
    if random_tokens:
        weight[max(first - 1, 0) : first + length - 1] = 0.0  # targets inside the random first copy
        weight[first + length - 1] = 0.0  # and the text right after it: it follows noise
    return window, weight


def tile_span(window: torch.Tensor, vocab_size: int, generator: torch.Generator, *, length: int, start: int,
              random_tokens: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """A copy of ``window`` (N,) whose text from ``start`` on is one span of ``length`` tokens said again and
    again (random ids, or the window's own text at ``start``), and the loss weights (N - 1,) of its targets
    (0 inside a random first copy, as in :func:`repeat_span`)."""
    n = len(window)
    window = window.clone()  # never change the tensor handed in
    if random_tokens:
        span = torch.randint(0, vocab_size - 1, (length,), generator=generator)  # (length,)
    else:
        span = window[start : start + length].clone()  # (length,)
    reps = -(-(n - start) // length)  # enough copies to reach the end
    window[start:] = span.repeat(reps)[: n - start]
    weight = torch.ones(n - 1)
    if random_tokens:
        weight[max(start - 1, 0) : start + length] = 0.0  # the random first copy cannot be predicted
    return window, weight


def mix_in_copies(windows: torch.Tensor, vocab_size: int, generator: torch.Generator, share: float,
                  min_length: int = 8, max_length: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Give a ``share`` of the rows of ``windows`` (B, N) repeated text: from a random point on, one span
    (random tokens or the row's own text, half and half; ``min_length``..``max_length`` tokens) said again
    and again. Returns the windows (B, N) and the loss weights of their targets (B, N - 1)."""
    B, N = windows.shape
    out, weights = windows.clone(), torch.ones(B, N - 1)
    for row in range(B):
        if float(torch.rand((), generator=generator)) >= share:
            continue
        length = int(torch.randint(min_length, min(max_length, (N - 1) // 2) + 1, (1,), generator=generator))
        start = int(torch.randint(0, N - 2 * length, (1,), generator=generator))
        random_tokens = bool(torch.rand((), generator=generator) < 0.5)
        out[row], weights[row] = tile_span(windows[row], vocab_size, generator, length=length, start=start,
                                           random_tokens=random_tokens)
    return out, weights

"""Beam search: keep the k most likely texts so far, not just the single most likely next token.

Greedy decoding takes the best token at every step and can never undo it. Beam search keeps ``k``
partial texts (the *beams*) and, at every step, scores every beam's every possible next token by the
log-probability of the WHOLE text (the sum of its tokens' log-probabilities). The best ``k`` that have
not ended become the next beams; every other continuation is *pruned*. A text that ends (the model
wrote ``<|endoftext|>``, or the length limit is reached) joins the *finished* hypotheses, scored by
``sum_logprobs / (new_length ** length_penalty)``; the best finished one is the answer.

This follows Hugging Face ``transformers``' ``_beam_search`` rule for rule, with its defaults
(``length_penalty=1.0``, ``early_stopping=False``, ``num_return_sequences=1``):

- each step keeps the top ``2 * k`` continuations, so that even if ``k`` of them end there are still
  ``k`` left to carry on;
- only a continuation among the top ``k`` of those may join the finished ones;
- it stops when no running beam can still beat the worst of ``k`` finished texts (the "early stopping
  heuristic": the best running score divided by the current new length), or when every continuation
  has ended.

So ``beam_search(lab, prompt, num_beams=k, max_new_tokens=n)`` gives the tokens of
``GPT2LMHeadModel.generate(ids, num_beams=k, do_sample=False, max_new_tokens=n)``; the forward passes
are gpt2lab's own (:func:`gpt2lab.model.forward.forward`), all beams in one batch. Beam search does not
sample: it has no temperature, top-k, top-p, min-p or seed.

    result = beam_search(lab, "The cat sat", num_beams=3, max_new_tokens=20)
    result.text, result.score, result.steps[0].candidates
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from gpt2lab.errors import LabError
from gpt2lab.generation.stopping import STOPPED_AT_CONTEXT_FULL, STOPPED_AT_END_OF_TEXT, STOPPED_AT_LENGTH, WrittenText
from gpt2lab.generation.text_model import TextModel, text_model_of
from gpt2lab.inputs import check_whole_number
from gpt2lab.generation.sampling import (
    apply_repetition_penalty,
    check_max_new_tokens,
    check_no_repeat_ngram_size,
    check_prompt,
    check_repetition_penalty,
    no_repeat_ngram_filter,
)

NEG = -1.0e9  # transformers' "never pick this" score (added, not -inf, so sums stay finite)


@dataclass(frozen=True)
class BeamCandidate:
    """One of the ``2 * k`` best continuations considered at a step."""

    parent: int  # which running beam (0 = the best) it extends
    token_id: int  # the token it adds
    token: str  # how that token reads
    new_ids: tuple[int, ...]  # the whole generated text so far, this token included
    logprob: float  # the cumulative log-probability of those tokens (the sum over the text)
    ended: bool  # it wrote <|endoftext|> or reached the length limit
    kept: bool  # it is one of the k running beams of the next step
    finished: bool  # it joined the k best finished texts (length-penalised score below)
    score: float  # logprob / new_length ** length_penalty: how finished texts are compared


@dataclass
class BeamStep:
    """One step of beam search: the candidates it weighed, and which survived."""

    new_length: int  # how many tokens each candidate has generated
    candidates: list[BeamCandidate]  # the 2k best continuations, best first

    @property
    def kept(self) -> list[BeamCandidate]:
        return [c for c in self.candidates if c.kept]

    @property
    def pruned(self) -> list[BeamCandidate]:
        """The candidates that neither carry on nor joined the finished texts."""
        return [c for c in self.candidates if not c.kept and not c.finished]


@dataclass
class BeamResult(WrittenText):
    """What :func:`beam_search` returns: the best finished text, its score, and every step's beams."""

    prompt: str
    prompt_ids: list[int]
    new_ids: list[int]  # the best text's generated ids (ending with <|endoftext|> if it wrote it)
    score: float  # its length-penalised score (sum of log-probabilities / new length)
    logprob: float  # its summed log-probability
    steps: list[BeamStep]
    finished: list[tuple[tuple[int, ...], float]] = field(default_factory=list)  # the k best finished (ids, score)
    stop_reason: str = "length"  # "length", "end_of_text" or "context_full" (generation.stopping.STOP_REASONS)
    text: str = ""  # prompt and continuation, without a final <|endoftext|>
    completion: str = ""  # the continuation alone
    num_beams: int = 1


def next_log_probs(model: TextModel, beams: torch.Tensor, repetition_penalty: float = 1.0,
                   no_repeat_ngram_size: int = 0) -> torch.Tensor:
    """Every beam's log-probabilities for its next token: beams (k, T) -> (k, vocab), after the processors
    that read the text (they act on the log-probabilities in beam search, as in transformers)."""
    logits = model.batch_logits(beams)[:, -1, :].float().cpu()  # (k, vocab)
    log_probs = torch.log_softmax(logits, dim=-1)  # (k, vocab)
    rows = []
    for row, context in zip(log_probs, beams.tolist()):
        row = apply_repetition_penalty(row, context, repetition_penalty)
        rows.append(no_repeat_ngram_filter(row, context, no_repeat_ngram_size))
    return torch.stack(rows)  # (k, vocab)


def beam_search(lab, prompt: str, num_beams: int = 3, max_new_tokens: int = 20, length_penalty: float = 1.0,
                repetition_penalty: float = 1.0, no_repeat_ngram_size: int = 0) -> BeamResult:
    """Beam search with ``num_beams`` beams for at most ``max_new_tokens`` tokens (transformers' rules)."""
    model = text_model_of(lab)
    check_prompt(prompt)
    check_max_new_tokens(max_new_tokens)
    check_repetition_penalty(repetition_penalty)
    check_no_repeat_ngram_size(no_repeat_ngram_size)
    num_beams = check_whole_number(num_beams, "num_beams (1 is greedy)", minimum=1)
    prompt_ids = model.encode(prompt).tolist()
    eos = model.eos_id
    prompt_len, k = len(prompt_ids), num_beams
    room = model.n_ctx - prompt_len
    if room < 1:
        raise LabError("The prompt fills the context window: shorten it so the model has room to write.")
    n_new = min(max_new_tokens, room)
    max_length = prompt_len + n_new
    n_keep = 2 * k  # max(2, 1 + number of end tokens) * k, as in transformers
    top_k_mask = torch.arange(n_keep) < k  # (2k,)  only these may join the finished texts

    running = torch.tensor([prompt_ids] * k)  # (k, T)  the beams, all the prompt at first
    running_scores = torch.zeros(1, k)  # (1, k)  cumulative log-probabilities
    running_scores[:, 1:] = NEG  # the k copies of the prompt are one beam: only the first may grow
    finished_ids: list[tuple[int, ...]] = [()] * k
    finished_scores = torch.full((1, k), NEG)  # (1, k)  length-penalised scores of the finished texts
    is_finished = torch.zeros(1, k, dtype=torch.bool)  # (1, k)
    improvable = torch.ones(1, 1, dtype=torch.bool)  # the early-stopping heuristic: can a beam still improve?
    steps: list[BeamStep] = []
    cur_len = prompt_len
    while True:
        log_probs = next_log_probs(model, running, repetition_penalty, no_repeat_ngram_size)  # (k, vocab)
        vocab = log_probs.shape[-1]
        total = (log_probs + running_scores[0, :, None]).reshape(1, -1)  # (1, k * vocab)
        top_scores, top_index = torch.topk(total, k=n_keep)  # (1, 2k) each
        parents, tokens = top_index // vocab, top_index % vocab  # (1, 2k)
        candidates = torch.cat([running[parents[0]], tokens[0, :, None]], dim=1)  # (2k, T + 1)
        ended = (tokens == eos) if eos is not None else torch.zeros_like(tokens, dtype=torch.bool)  # (1, 2k)
        if cur_len + 1 >= max_length:
            ended = torch.ones_like(ended)
        # the next running beams: the k best that have not ended
        carry = top_scores + ended.float() * NEG  # (1, 2k)
        next_index = torch.topk(carry, k=k)[1]  # (1, k)
        # the finished texts: the k best of the old ones and the top-k candidates that just ended
        new_length = cur_len + 1 - prompt_len
        penalised = top_scores / (new_length**length_penalty)  # (1, 2k)
        just_finished = ended & top_k_mask[None, :]  # (1, 2k)
        entry = penalised + (~improvable).float() * NEG + (~just_finished).float() * NEG  # (1, 2k)
        merged_scores = torch.cat([finished_scores, entry], dim=1)  # (1, 3k)
        merged_ids = finished_ids + [tuple(c[prompt_len:].tolist()) for c in candidates]
        merged_finished = torch.cat([is_finished, just_finished], dim=1)  # (1, 3k)
        best = torch.topk(merged_scores, k=k)[1]  # (1, k)
        finished_now = {int(i) - k for i in best[0] if int(i) >= k and bool(just_finished[0, int(i) - k])}  # candidates that entered the finished texts
        kept_now = {int(i) for i in next_index[0] if not bool(ended[0, int(i)])}
        strings = model.token_strings(tokens[0].tolist())
        steps.append(BeamStep(new_length, [
            BeamCandidate(parent=int(parents[0, j]), token_id=int(tokens[0, j]), token=strings[j],
                          new_ids=tuple(candidates[j, prompt_len:].tolist()), logprob=float(top_scores[0, j]),
                          ended=bool(ended[0, j]), kept=j in kept_now, finished=j in finished_now,
                          score=float(penalised[0, j]))
            for j in range(n_keep)
        ]))
        finished_scores = merged_scores.gather(1, best)
        finished_ids = [merged_ids[int(i)] for i in best[0]]
        is_finished = merged_finished.gather(1, best)
        running = candidates[next_index[0]]  # (k, T + 1)
        running_scores = carry.gather(1, next_index)  # (1, k)
        cur_len += 1
        best_possible = running_scores[:, :1] / ((cur_len - prompt_len) ** length_penalty)  # (1, 1)
        worst_finished = torch.where(is_finished, finished_scores.min(dim=1, keepdim=True)[0], NEG)  # (1, k)
        improvable = improvable & (best_possible > worst_finished).any(dim=-1, keepdim=True)
        if not bool(improvable.any()) or bool(ended.all()):
            break

    best_ids = list(finished_ids[0])
    score = float(finished_scores[0, 0])
    if best_ids and eos is not None and best_ids[-1] == eos:
        reason, shown = STOPPED_AT_END_OF_TEXT, best_ids[:-1]
    else:
        reason = STOPPED_AT_CONTEXT_FULL if n_new < max_new_tokens and len(best_ids) == n_new else STOPPED_AT_LENGTH
        shown = best_ids
    return BeamResult(
        prompt=prompt, prompt_ids=prompt_ids, new_ids=best_ids, score=score,
        logprob=score * max(len(best_ids), 1) ** length_penalty, steps=steps,
        finished=[(ids, float(s)) for ids, s, done in zip(finished_ids, finished_scores[0], is_finished[0]) if bool(done)],
        stop_reason=reason, text=model.decode(prompt_ids + shown), completion=model.decode(shown), num_beams=k,
    )


def sequence_logprob(lab, prompt_ids: list[int], new_ids: list[int]) -> float:
    """The summed log-probability the model gives ``new_ids`` after ``prompt_ids`` (one forward pass).

    How greedy, beams and samples are compared on one scale in the decoding tree.
    """
    if not new_ids:
        return 0.0
    model = text_model_of(lab)
    ids = torch.tensor([list(prompt_ids) + list(new_ids)])  # (1, T)
    logits = model.batch_logits(ids)[0].float().cpu()  # (T, vocab)
    log_probs = torch.log_softmax(logits[len(prompt_ids) - 1 : -1], dim=-1)  # (n_new, vocab)
    return float(log_probs.gather(1, torch.tensor(new_ids)[:, None]).sum())

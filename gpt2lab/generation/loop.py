"""Autoregressive generation: one token at a time, each step a record you can look at.

The loop GPT-2 runs to write text:

    1. read the text so far (only the positions not yet in the KV cache are computed)
    2. take the last position's logits, filter them (:mod:`gpt2lab.generation.sampling`), choose a token
    3. append it, and go back to 1, until it must stop (:mod:`gpt2lab.generation.stopping`): the length
       asked for, ``<|endoftext|>``, or a full context window

Thanks to the KV cache (:mod:`gpt2lab.model.cache`), step 1 computes the whole prompt once, and every later
step computes ONE new position: the keys and values of the earlier tokens never change.

    result = generate(lab, "The cat sat", max_new_tokens=20, temperature=0.8, top_k=40, seed=0)
    result = generate(lab, "The cat sat", settings=SamplingSettings(temperature=0.8, top_k=40))   # the same
    result.text, result.stop_reason, result.steps[0].candidates[:3]

Driving it by hand, one step at a time, is the :class:`~gpt2lab.generation.stepper.Stepper`; keeping the k
most likely texts instead of sampling one is :func:`~gpt2lab.generation.beam.beam_search`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

from gpt2lab.errors import LabError
from gpt2lab.generation.beam import beam_search
from gpt2lab.generation.sampling import (
    Candidate,
    SamplingSettings,
    check_prompt,
    check_settings,
    choose,
    filter_distribution,
    kept_candidates,
    last_position_logits,
    make_generator,
    rank_of,
)
from gpt2lab.generation.stopping import WrittenText, stop_reason
from gpt2lab.generation.text_model import TextModel, text_model_of
from gpt2lab.inputs import check_options, check_stage_patterns, shown
from gpt2lab.model.cache import KVCache
from gpt2lab.model.names import block_stage, select_stages
from gpt2lab.model.trace import Trace

DEFAULT_KEEP = ("blocks.*.attn.pattern",)  # what each step's trace keeps by default: enough to show attention
CANDIDATE_LIMIT = 50  # a step record lists at most this many kept candidates (most likely first)
BEAM_OPTIONS = ("max_new_tokens", "repetition_penalty", "no_repeat_ngram_size")  # the settings beam search honours


@dataclass
class Step:
    """One generated token and everything that went into choosing it."""

    position: int  # where the new token goes in the text (0-based); also the number of tokens read
    context_ids: torch.Tensor  # (position,)  the tokens the model read to choose it
    probs: torch.Tensor | None  # (vocab,)  the model's raw probabilities (softmax of the logits), or None
    filtered: torch.Tensor | None  # (vocab,)  the distribution it was drawn from (0 for cut tokens), or None
    candidates: list[Candidate]  # the kept tokens, most likely first (at most CANDIDATE_LIMIT)
    n_kept: int  # how many tokens survived the filters
    token_id: int  # the token chosen
    token: str  # how it reads
    prob: float  # its probability in the filtered distribution
    raw_prob: float  # its probability before filtering
    rank: int  # 1 if it was the model's most likely token, 2 if second ...
    forced: bool  # True if the learner chose it (a branch) instead of the sampler
    settings: SamplingSettings  # the settings in force for this step
    trace: Trace  # this step's forward pass: the whole prompt for the first step, one position after

    @property
    def attention(self) -> torch.Tensor:
        """(n_layer, n_head, position): how the last position (the one that predicted this token) attended
        to every token of the context, in every layer and head."""
        names = [block_stage(i, "attn.pattern") for i in range(self.trace.n_layer)]
        return torch.stack([self.trace[name][:, -1, :] for name in names])  # (n_layer, n_head, T_all)

    def __repr__(self) -> str:
        how = "forced" if self.forced else f"rank {self.rank}"
        return f"Step(position {self.position}: {self.token!r} id {self.token_id}, p={self.prob:.3f}, {how})"


@dataclass
class GenerationResult(WrittenText):
    """What :func:`generate` returns: the text, every step, and why it stopped."""

    prompt: str
    prompt_ids: list[int]
    new_ids: list[int]  # the generated ids (ending with <|endoftext|> if the model wrote it)
    steps: list[Step]
    stop_reason: str  # "length", "end_of_text" or "context_full" (see STOP_REASONS)
    text: str  # prompt and continuation, without a final <|endoftext|>
    completion: str  # the continuation alone, without a final <|endoftext|>


def next_distribution(lab, prompt: str, settings: SamplingSettings | None = None):
    """The distribution of the token after ``prompt``, under ``settings`` (all its stages: see
    :class:`gpt2lab.generation.sampling.Distribution`). One forward pass, no draw.

        dist = next_distribution(lab, "Mr.", SamplingSettings(top_p=0.9)); dist.n_kept
    """
    model = text_model_of(lab)
    check_prompt(prompt)
    check_settings(settings)
    ids = model.encode(prompt)  # (T,)
    trace = model.read(ids, None, ("logits",))
    return filter_distribution(last_position_logits(trace.logits), settings or SamplingSettings(), ids.tolist())


# --- building blocks shared by generate() and the Stepper ------------------------------------------------


def sampling_settings(settings, sampling: dict) -> SamplingSettings:
    """The settings to use: ``settings`` itself, or made from keyword arguments (each one checked); never both,
    so that no setting is silently overruled by another."""
    check_settings(settings)
    check_options(sampling, SamplingSettings.__dataclass_fields__, "SamplingSettings")
    if settings is not None and sampling:
        raise LabError(f"Give the sampling settings once: settings=SamplingSettings(...) or keywords such as "
                       f"{next(iter(sampling))}=..., not both.")
    return settings if settings is not None else SamplingSettings(**sampling)


@dataclass(frozen=True)
class Keep:
    """What each step's trace keeps: the stage names (the logits always: sampling needs them), and whether
    the caller wanted the logits kept in the record. Worked out once per generation, not once per step."""

    stages: tuple[str, ...]
    logits: bool

    @classmethod
    def of(cls, keep: Iterable[str] | None, n_layer: int) -> "Keep":
        wanted = select_stages(check_stage_patterns(keep), n_layer)
        return cls(tuple(sorted(wanted | {"logits"})), "logits" in wanted)


def take_step(
    model: TextModel,
    cache: KVCache,
    ids: list[int],
    settings: SamplingSettings,
    generator: torch.Generator,
    token_id: int | None = None,
    keep: Keep | None = None,
    distributions: bool = True,
) -> Step:
    """Read the tokens of ``ids`` (checked already) the cache does not hold yet, then choose the next token.

    ``token_id`` (checked already) forces the choice: a branch. ``keep``: what the step's trace keeps
    (attention patterns by default). ``distributions=False`` leaves out the two (vocab,) tensors, to save
    memory on long texts.
    """
    keep = keep or Keep.of(DEFAULT_KEEP, model.n_layer)
    new = torch.tensor(ids[cache.length :])  # (T,): one position, except at the first step
    trace = model.read(new, cache, keep.stages)
    dist = filter_distribution(last_position_logits(trace.logits), settings, context_ids=ids)  # (vocab,) tensors
    if not keep.logits:
        del trace.activations["logits"]  # (T, vocab) is the biggest stage: drop it unless asked for
    forced = token_id is not None
    chosen = token_id if forced else choose(dist, generator)
    return Step(
        position=len(ids),
        context_ids=trace.context_ids,
        probs=dist.probs if distributions else None,
        filtered=dist.filtered if distributions else None,
        candidates=kept_candidates(dist, model.token_strings, limit=CANDIDATE_LIMIT),
        n_kept=dist.n_kept,
        token_id=chosen,
        token=model.token_strings([chosen])[0],
        prob=float(dist.filtered[chosen]),
        raw_prob=float(dist.probs[chosen]),
        rank=rank_of(dist.probs, chosen),
        forced=forced,
        settings=settings,
        trace=trace,
    )


def sample_text(model: TextModel, prompt: str, prompt_ids: list[int], settings: SamplingSettings, keep: Keep,
                distributions: bool = True, stop_when: Callable[[list[Step]], str | None] | None = None) -> GenerationResult:
    """The sampling loop itself, on checked inputs: step until a stop reason (or ``stop_when``) says stop."""
    generator = make_generator(settings.seed)
    cache = model.new_cache()
    ids, steps = list(prompt_ids), []
    while (reason := stop_reason(ids, len(steps), settings.max_new_tokens, model.eos_id, model.n_ctx)
           or (stop_when and stop_when(steps))) is None:
        step = take_step(model, cache, ids, settings, generator, keep=keep, distributions=distributions)
        steps.append(step)
        ids.append(step.token_id)
    new_ids = ids[len(prompt_ids) :]
    return GenerationResult(prompt=prompt, prompt_ids=list(prompt_ids), new_ids=new_ids, steps=steps, stop_reason=reason,
                            text=model.decode_without_end(ids), completion=model.decode_without_end(new_ids))


def generate(
    lab,
    prompt: str,
    max_new_tokens: int | None = None,
    *,
    settings: SamplingSettings | None = None,
    keep: Iterable[str] | None = DEFAULT_KEEP,
    distributions: bool = True,
    stop_when: Callable[[list[Step]], str | None] | None = None,
    **sampling,
):
    """Continue ``prompt`` token by token; return the text, a :class:`Step` per token and the stop reason.

    The sampling settings come as one :class:`~gpt2lab.generation.sampling.SamplingSettings` (``settings=``)
    or as its fields by keyword (``temperature=0.8, top_k=40, seed=0``; ``max_new_tokens`` may also come
    second), never both. ``temperature=0`` is greedy (equal to ``generate(do_sample=False)`` in
    transformers); otherwise the same settings and seed give the distributions and tokens of
    ``transformers``' sampling with ``torch.manual_seed(seed)``. ``keep`` and ``distributions`` decide how
    much each step record holds (see :func:`take_step`). ``stop_when(steps)`` adds a stopping rule of the
    caller's (the essay generator stops after enough paragraphs): it returns the reason to stop, or None.

    ``num_beams=k`` (k > 1) runs beam search instead (:func:`gpt2lab.generation.beam.beam_search`, equal to
    ``generate(num_beams=k, do_sample=False)``) and returns its
    :class:`~gpt2lab.generation.beam.BeamResult`; beam search does not sample, so it refuses, in one
    sentence, any sampling setting it would not honour.
    """
    model = text_model_of(lab)
    num_beams = sampling.pop("num_beams", 1)
    if max_new_tokens is not None:
        if settings is not None and max_new_tokens != settings.max_new_tokens:
            raise LabError(f"max_new_tokens={shown(max_new_tokens)} disagrees with settings.max_new_tokens="
                           f"{settings.max_new_tokens}; give it once.")
        if settings is None:
            sampling["max_new_tokens"] = max_new_tokens
    if num_beams != 1:
        return beam_instead(model, prompt, num_beams, settings, sampling)
    settings = sampling_settings(settings, sampling)
    check_prompt(prompt)
    keep_stages = Keep.of(keep, model.n_layer)
    prompt_ids = model.encode(prompt).tolist()
    return sample_text(model, prompt, prompt_ids, settings, keep_stages, distributions, stop_when)


def beam_instead(model: TextModel, prompt: str, num_beams, settings: SamplingSettings | None, sampling: dict):
    """``generate(..., num_beams=k)``: beam search, after refusing any setting it would ignore."""
    options = dict(sampling)
    if settings is not None:
        defaults = SamplingSettings().to_dict()
        options.update({k: v for k, v in settings.to_dict().items() if v != defaults[k] or k == "max_new_tokens"})
    ignored = sorted(k for k in options if k not in BEAM_OPTIONS)
    ignored = [k for k in ignored if k != "seed" or options[k] not in (0, None)]  # a seed changes nothing: no draw
    if ignored:
        raise LabError(f"Beam search does not sample, so {ignored[0]}={options[ignored[0]]!r} would be ignored; "
                       f"leave it out, or use num_beams=1 to sample.")
    return beam_search(model, prompt, num_beams=num_beams, **{k: options[k] for k in BEAM_OPTIONS if k in options})


# --- two small measures for the lessons ----------------------------------------------------------------------


def positions_computed(prompt_length: int, n_new: int, cache: bool = True) -> int:
    """How many positions the forward passes compute to write ``n_new`` tokens after a prompt.

    With the KV cache: the prompt once, then one position per new token except the last (it is never
    read). Without it, every step reads the whole text again.

    >>> positions_computed(10, 5), positions_computed(10, 5, cache=False)
    (14, 60)
    """
    if cache:
        return prompt_length + n_new - 1
    return sum(prompt_length + i for i in range(n_new))


def repeated_fraction(ids: list[int], n: int = 4) -> float:
    """The share of the n-grams (runs of ``n`` tokens) of ``ids`` that already appeared earlier in it.

    Near 0 for fresh text, near 1 for text stuck in a loop.

    >>> repeated_fraction([1, 2, 1, 2, 1, 2], n=2)   # (1,2) (2,1) new; then (1,2) (2,1) (1,2) again
    0.6
    """
    seen, repeats, total = set(), 0, 0
    for i in range(len(ids) - n + 1):
        gram = tuple(ids[i : i + n])
        repeats += gram in seen
        total += 1
        seen.add(gram)
    return repeats / total if total else 0.0

"""Autoregressive generation: one token at a time, each step a record you can look at.

The loop GPT-2 runs to write text:

    1. read the text so far (only the positions not yet in the KV cache are computed)
    2. take the last position's logits, filter them (:mod:`gpt2lab.generation.sampling`), choose a token
    3. append it, and go back to 1, until one of three things happens:
         "length"        max_new_tokens new tokens have been written
         "end_of_text"   the model wrote <|endoftext|>, its "this document is over" token
         "context_full"  the text fills the context window (n_ctx tokens): no position is left to read more

Thanks to the KV cache (:mod:`gpt2lab.model.cache`), step 1 computes the whole prompt once, and every later
step computes ONE new position: the keys and values of the earlier tokens never change.

    result = generate(lab, "The cat sat", max_new_tokens=20, temperature=0.8, top_k=40, seed=0)
    result.text, result.stop_reason, result.steps[0].candidates[:3]

    stepper = Stepper(lab, "The cat sat", temperature=0.8, top_k=40)
    stepper.step()              # sample one token
    stepper.branch(1169)        # no: take token 1169 there instead (the first choice stays in the tree)
    stepper.back(); stepper.reset()
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch

from gpt2lab.model.cache import KVCache
from gpt2lab.errors import LabError
from gpt2lab.inputs import check_lab, check_options, check_settings, check_stage_patterns, check_whole_number, token_ids
from gpt2lab.inputs import check_token_id as check_id
from gpt2lab.model.names import block_stage, select_stages
from gpt2lab.generation.sampling import (
    Candidate,
    SamplingSettings,
    check_prompt,
    choose,
    filter_distribution,
    kept_candidates,
    last_position_logits,
    make_generator,
    rank_of,
)
from gpt2lab.model.trace import Trace

# why generation stopped (the token <|endoftext|> itself is gpt2lab.tokenizer.bpe.END_OF_TEXT)
STOPPED_AT_LENGTH, STOPPED_AT_END_OF_TEXT, STOPPED_AT_CONTEXT_FULL = "length", "end_of_text", "context_full"
STOP_REASONS = {
    STOPPED_AT_LENGTH: "the requested number of new tokens has been written",
    STOPPED_AT_END_OF_TEXT: "the model wrote <|endoftext|>, its end-of-document token",
    STOPPED_AT_CONTEXT_FULL: "the text fills the model's context window, so it cannot read one more token",
}
DEFAULT_KEEP = ("blocks.*.attn.pattern",)  # what each step's trace keeps by default: enough to show attention
CANDIDATE_LIMIT = 50  # a step record lists at most this many kept candidates (most likely first)


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
class GenerationResult:
    """What :func:`generate` returns: the text, every step, and why it stopped."""

    prompt: str
    prompt_ids: list[int]
    new_ids: list[int]  # the generated ids (ending with <|endoftext|> if the model wrote it)
    steps: list[Step]
    stop_reason: str  # "length", "end_of_text" or "context_full" (see STOP_REASONS)
    text: str  # prompt and continuation, without a final <|endoftext|>
    completion: str  # the continuation alone, without a final <|endoftext|>

    @property
    def ids(self) -> list[int]:
        return self.prompt_ids + self.new_ids

    @property
    def stop_explanation(self) -> str:
        return STOP_REASONS[self.stop_reason]


def next_distribution(lab, prompt: str, settings: SamplingSettings | None = None):
    """The distribution of the token after ``prompt``, under ``settings`` (all its stages: see
    :class:`gpt2lab.generation.sampling.Distribution`). One forward pass, no draw.

        dist = next_distribution(lab, "Mr.", SamplingSettings(top_p=0.9)); dist.n_kept
    """
    check_lab(lab)
    check_prompt(prompt)
    check_settings(settings)
    trace = lab.trace(prompt, keep=("logits",))
    return filter_distribution(last_position_logits(trace.logits), settings or SamplingSettings(), trace.context_ids.tolist())


# --- building blocks shared by generate() and the Stepper ------------------------------------------------


def end_of_text_id(lab) -> int | None:
    """The id of ``<|endoftext|>`` for this lab's tokenizer (None if it has none)."""
    eos = getattr(lab.tokenizer, "eos_token_id", None)
    return eos if eos is not None else getattr(lab.hf_model.config, "eos_token_id", None)


def check_token_id(lab, token_id) -> int:
    """A token to force: one id of the lab's vocabulary (an int, or a one-element integer tensor)."""
    return check_id(token_id, lab.config.vocab_size, what="A forced token")


def sampling_settings(settings, sampling: dict) -> SamplingSettings:
    """The settings to use: ``settings`` itself, or made from the keyword arguments (each one checked)."""
    check_settings(settings)
    check_options(sampling, SamplingSettings.__dataclass_fields__, "SamplingSettings")
    return settings if settings is not None else SamplingSettings(**sampling)


def stop_reason(ids: list[int], n_new: int, settings: SamplingSettings, eos_id: int | None, n_ctx: int) -> str | None:
    """Why generation must stop now (see STOP_REASONS), or None if it can go on.

    >>> stop_reason([5, 6, 0], n_new=1, settings=SamplingSettings(), eos_id=0, n_ctx=8)
    'end_of_text'
    """
    if n_new > 0 and eos_id is not None and ids[-1] == eos_id:
        return STOPPED_AT_END_OF_TEXT
    if n_new >= settings.max_new_tokens:
        return STOPPED_AT_LENGTH
    if len(ids) >= n_ctx:
        return STOPPED_AT_CONTEXT_FULL
    return None


def trace_keep(keep: Iterable[str] | None, n_layer: int) -> tuple[tuple[str, ...], bool]:
    """The stages to ask ``lab.trace`` for (the logits always: sampling needs them), and whether the
    caller wanted the logits kept in the record."""
    patterns = check_stage_patterns(keep)
    wanted = select_stages(patterns, n_layer)
    return tuple(sorted(wanted | {"logits"})), "logits" in wanted


def take_step(
    lab,
    cache: KVCache,
    ids: list[int],
    settings: SamplingSettings,
    generator: torch.Generator,
    token_id: int | None = None,
    keep: Iterable[str] | None = DEFAULT_KEEP,
    distributions: bool = True,
) -> Step:
    """Read the tokens of ``ids`` the cache does not hold yet, then choose the next token.

    ``token_id`` forces the choice (a branch). ``keep``: the stages the step's trace keeps.
    ``distributions=False`` leaves out the two (vocab,) tensors, to save memory on long texts.
    """
    forced = token_id is not None
    if forced:
        token_id = check_token_id(lab, token_id)  # before any work
    kept, keep_logits = trace_keep(keep, lab.config.n_layer)
    trace = lab.trace(ids[cache.length :], cache=cache, keep=kept)  # one position, except the first step
    dist = filter_distribution(last_position_logits(trace.logits), settings, context_ids=ids)  # (vocab,) tensors
    if not keep_logits:
        del trace.activations["logits"]  # (T, vocab) is the biggest stage: drop it unless asked for
    chosen = token_id if forced else choose(dist, generator)
    return Step(
        position=len(ids),
        context_ids=trace.context_ids,
        probs=dist.probs if distributions else None,
        filtered=dist.filtered if distributions else None,
        candidates=kept_candidates(dist, lab.token_strings, limit=CANDIDATE_LIMIT),
        n_kept=dist.n_kept,
        token_id=chosen,
        token=lab.token_strings([chosen])[0],
        prob=float(dist.filtered[chosen]),
        raw_prob=float(dist.probs[chosen]),
        rank=rank_of(dist.probs, chosen),
        forced=forced,
        settings=settings,
        trace=trace,
    )


def _decode_without_end(lab, ids: list[int], eos_id: int | None) -> str:
    if ids and eos_id is not None and ids[-1] == eos_id:
        ids = ids[:-1]
    return lab.decode(ids)


def generate(
    lab,
    prompt: str,
    max_new_tokens: int = 40,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float = 1.0,
    seed: int | None = 0,
    *,
    settings: SamplingSettings | None = None,
    keep: Iterable[str] | None = DEFAULT_KEEP,
    distributions: bool = True,
    stop_when: Callable[[list[Step]], str | None] | None = None,
    repetition_penalty: float = 1.0,
    no_repeat_ngram_size: int = 0,
    min_p: float = 0.0,
    num_beams: int = 1,
) -> GenerationResult:
    """Continue ``prompt`` token by token; return the text, a :class:`Step` per token and the stop reason.

    ``temperature=0`` is greedy (equal to ``generate(do_sample=False)`` in transformers); otherwise the
    same settings and seed give the distributions and tokens of ``transformers``' sampling with
    ``torch.manual_seed(seed)``. ``settings`` replaces the five sampling arguments. ``keep`` and
    ``distributions`` decide how much each step record holds (see :func:`take_step`).
    ``stop_when(steps)`` adds a stopping rule of the caller's (the essay generator stops after enough
    paragraphs): it returns the reason to stop, or None to go on.
    ``repetition_penalty``, ``no_repeat_ngram_size`` and ``min_p`` are the further stages of
    :mod:`gpt2lab.generation.sampling`. ``num_beams`` above 1 runs beam search instead
    (:func:`gpt2lab.generation.beam.beam_search`, equal to ``generate(num_beams=k, do_sample=False)``)
    and returns its :class:`~gpt2lab.generation.beam.BeamResult`.
    """
    check_lab(lab)
    if settings is None:
        settings = SamplingSettings(temperature=temperature, top_k=top_k, top_p=top_p, max_new_tokens=max_new_tokens, seed=seed,
                                    repetition_penalty=repetition_penalty, no_repeat_ngram_size=no_repeat_ngram_size, min_p=min_p)
    check_settings(settings)
    if num_beams != 1:
        from gpt2lab.generation.beam import beam_search

        return beam_search(lab, prompt, num_beams=num_beams, max_new_tokens=settings.max_new_tokens,
                           repetition_penalty=settings.repetition_penalty, no_repeat_ngram_size=settings.no_repeat_ngram_size)
    check_prompt(prompt)
    prompt_ids = lab.to_ids(prompt).tolist()
    eos_id, n_ctx = end_of_text_id(lab), lab.config.n_ctx
    generator = make_generator(settings.seed)
    cache = lab.new_cache()
    ids, steps = list(prompt_ids), []
    while (reason := stop_reason(ids, len(steps), settings, eos_id, n_ctx) or (stop_when and stop_when(steps))) is None:
        step = take_step(lab, cache, ids, settings, generator, keep=keep, distributions=distributions)
        steps.append(step)
        ids.append(step.token_id)
    new_ids = ids[len(prompt_ids) :]
    return GenerationResult(
        prompt=prompt,
        prompt_ids=prompt_ids,
        new_ids=new_ids,
        steps=steps,
        stop_reason=reason,
        text=_decode_without_end(lab, ids, eos_id),
        completion=_decode_without_end(lab, new_ids, eos_id),
    )


# --- the branch tree ---------------------------------------------------------------------------------------


@dataclass
class BranchNode:
    """One generated token in the tree of everything the learner has tried from the prompt."""

    step: Step | None = None  # the step that chose this token (None at the root: the prompt)
    children: dict[int, "BranchNode"] = field(default_factory=dict)  # next token id -> node


class BranchTree:
    """Every path of tokens tried from one prompt, sharing their common beginnings (a trie).

    A path is the tuple of generated ids. ``leaves()`` lists the paths that end somewhere: the branches.
    """

    def __init__(self):
        self.root = BranchNode()

    def add(self, path: tuple[int, ...], step: Step) -> None:
        """Record ``step`` as the step that chose ``path[-1]`` after ``path[:-1]``."""
        node = self.root
        for token_id in path[:-1]:
            node = node.children[token_id]
        node.children.setdefault(path[-1], BranchNode()).step = step

    def steps_along(self, path: tuple[int, ...]) -> list[Step]:
        """The step records of a path, from the first generated token on."""
        node, steps = self.root, []
        for token_id in path:
            if token_id not in node.children:
                raise LabError("That branch is not in the tree; pick one from the list of branches.")
            node = node.children[token_id]
            steps.append(node.step)
        return steps

    def leaves(self) -> list[tuple[int, ...]]:
        """Every path that ends in a node with no children, in the order they were first tried."""
        out: list[tuple[int, ...]] = []

        def walk(node: BranchNode, path: tuple[int, ...]) -> None:
            if not node.children and path:
                out.append(path)
            for token_id, child in node.children.items():
                walk(child, path + (token_id,))

        walk(self.root, ())
        return out


# --- the stepper -------------------------------------------------------------------------------------------


class Stepper:
    """Generation you drive by hand: step, force a token (branch), go back, reset.

    Invariant: the KV cache holds a prefix of ``ids[:-1]`` -- every token except at least the newest one,
    which is read at the next step. So a step after a step, a back or a branch reads ONE new position.
    Going back and stepping again draws anew (the generator moves on); ``reset()`` starts the draws over.
    """

    def __init__(self, lab, prompt: str, settings: SamplingSettings | None = None, *,
                 keep: Iterable[str] | None = DEFAULT_KEEP, **sampling):
        self.lab = check_lab(lab)
        check_prompt(prompt)
        self.keep = keep
        self.eos_id = end_of_text_id(lab)
        self.reset(prompt, sampling_settings(settings, sampling))

    # -- state ------------------------------------------------------------------------------------------

    @property
    def new_ids(self) -> list[int]:
        return self.ids[len(self.prompt_ids) :]

    @property
    def stop_reason(self) -> str | None:
        """Why no further step can be taken ("length", "end_of_text", "context_full"), or None."""
        return stop_reason(self.ids, len(self.steps), self.settings, self.eos_id, self.lab.config.n_ctx)

    @property
    def text(self) -> str:
        return _decode_without_end(self.lab, self.ids, self.eos_id)

    @property
    def last(self) -> Step | None:
        return self.steps[-1] if self.steps else None

    def result(self) -> GenerationResult:
        """The current path as a :class:`GenerationResult` (stop reason None if it could go on)."""
        return GenerationResult(self.prompt, list(self.prompt_ids), self.new_ids, list(self.steps),
                                self.stop_reason, self.text, _decode_without_end(self.lab, self.new_ids, self.eos_id))

    # -- actions ----------------------------------------------------------------------------------------

    def reset(self, prompt: str | None = None, settings: SamplingSettings | None = None) -> None:
        """Back to the bare prompt (a new one if given), with a fresh generator and an empty branch tree."""
        prompt = self.prompt if prompt is None else prompt
        check_prompt(prompt)
        check_settings(settings)
        prompt_ids = self.lab.to_ids(prompt).tolist()  # raises for a prompt longer than the context window
        self.prompt, self.prompt_ids = prompt, prompt_ids
        if settings is not None:
            self.settings = settings
        self.ids: list[int] = list(prompt_ids)
        self.steps: list[Step] = []
        self.tree = BranchTree()
        self.cache = self.lab.new_cache()
        self.generator = make_generator(self.settings.seed)
        self.seed_used = self.generator.initial_seed()  # the seed in force, even when settings.seed is None
        self.actions: list[dict] = []  # every step, back and goto since the reset: what a saved session replays

    def step(self, token_id: int | None = None) -> Step:
        """Choose the next token with the current settings, or take ``token_id`` instead (a branch)."""
        reason = self.stop_reason
        if reason is not None:
            raise LabError(f"Generation has stopped because {STOP_REASONS[reason]}; press Back or Reset to go on.")
        step = take_step(self.lab, self.cache, self.ids, self.settings, self.generator, token_id, self.keep)
        self.actions.append({"do": "step", "token_id": token_id, "chosen": step.token_id, "settings": self.settings.to_dict()})
        self.steps.append(step)
        self.ids.append(step.token_id)
        self.tree.add(tuple(self.new_ids), step)
        return step

    def back(self) -> Step:
        """Undo the newest token (it stays in the branch tree); return its step."""
        if not self.steps:
            raise LabError("There is nothing to go back to: no token has been generated yet.")
        self.ids.pop()
        self.cache.truncate(min(self.cache.length, len(self.ids) - 1))  # keep the invariant: newest token unread
        self.actions.append({"do": "back"})
        return self.steps.pop()

    def branch(self, token_id: int) -> Step:
        """Replace the newest token with ``token_id`` (one the sampler did not pick) and continue from it."""
        token_id = check_token_id(self.lab, token_id)
        self.back()
        return self.step(token_id=token_id)

    def play(self, n: int) -> list[Step]:
        """Take up to ``n`` steps, stopping early at a stop reason. Returns the steps taken."""
        taken = []
        for _ in range(check_whole_number(n, "The number of steps", minimum=0)):
            if self.stop_reason is not None:
                break
            taken.append(self.step())
        return taken

    def branches(self) -> list[tuple[int, ...]]:
        """Every path tried so far (each a tuple of generated ids), in the order first tried."""
        return self.tree.leaves()

    def goto(self, path: Iterable[int]) -> None:
        """Return to a path of the branch tree; only the positions that differ are read again (lazily)."""
        path = tuple(token_ids(path, self.lab.config.vocab_size, allow_empty=True).tolist())
        steps = self.tree.steps_along(path)
        common = 0
        while common < min(len(path), len(self.steps)) and path[common] == self.new_ids[common]:
            common += 1
        self.steps = steps
        self.ids = list(self.prompt_ids) + list(path)
        self.cache.truncate(min(self.cache.length, len(self.prompt_ids) + common, len(self.ids) - 1))
        self.actions.append({"do": "goto", "path": list(path)})

    # -- sessions: save, load, hand out (gpt2lab.generation.session) ------------------------------------

    def save(self, path) -> None:
        """Save this session (model name, prompt, settings, seed, every action) as a small JSON file."""
        from gpt2lab.generation.session import save_session

        save_session(self, path)

    @classmethod
    def load(cls, path, lab) -> "Stepper":
        """A stepper in the state a saved session was in, replayed on ``lab`` (the same model)."""
        from gpt2lab.generation.session import load_session

        return load_session(path, lab)

    def save_html(self, path) -> None:
        """Write the session as one self-contained offline HTML page: the text, each step's candidates, the tree."""
        from gpt2lab.generation.session import session_html

        with open(path, "w", encoding="utf-8") as f:
            f.write(session_html(self))


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

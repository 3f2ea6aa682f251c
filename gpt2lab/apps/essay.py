"""The essay generator: a prompt in, a short essay out -- a few paragraphs that end at a sentence end.

The application this kit grew from. It is the generation loop of :mod:`gpt2lab.generation.loop` with two
extra rules on top:

  * stop once ``paragraphs`` paragraphs are complete (a paragraph ends at a line break: the embedded
    model's training text puts a blank line between paragraphs, web text one or two line breaks),
  * keep the count it was asked for: a paragraph that runs past its fair share of the token budget
    (``max_new_tokens // paragraphs`` tokens) ends at its next sentence end, where a paragraph break is
    inserted (the model itself may never write a line break before the budget is spent), and
  * cut whatever follows the last sentence end (``.``, ``!`` or ``?``, with any closing quote), so the
    essay never stops mid-sentence.

    essay = write_essay(lab, "The history of tea", paragraphs=3, seed=0)
    print(essay.text)

Each step record is kept light (no (vocab,) tensors, no trace stages), so a long essay on real GPT-2
costs little memory; ``essay.steps[i].candidates`` still lists what the sampler chose from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gpt2lab.generation.loop import Step, generate
from gpt2lab.generation.stopping import STOP_REASONS, STOPPED_AT_CONTEXT_FULL, STOPPED_AT_END_OF_TEXT, STOPPED_AT_LENGTH
from gpt2lab.generation.sampling import SamplingSettings, check_typed_prompt
from gpt2lab.inputs import check_lab, check_whole_number

PARAGRAPHS = "paragraphs"  # the essay's own stop reason: enough paragraphs written
ESSAY_SETTINGS = dict(temperature=0.8, top_k=40, top_p=1.0, max_new_tokens=300)  # the defaults: GPT-2's paper used top-k 40
PARAGRAPH_BREAK = re.compile(r"[ \t]*\n\s*")  # one or more line breaks (blank lines too), with the spaces around them
SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s|$)")  # . ! or ? (and closing quotes), then a space or the end
ENDS_A_SENTENCE = re.compile(r"[.!?][\"'”’)\]]*\s*$")  # a text whose last sentence is complete


@dataclass
class Essay:
    """A generated essay."""

    prompt: str
    text: str  # prompt + continuation, cut at the last sentence end, paragraphs separated by one blank line
    paragraphs: list[str]  # the paragraphs of text
    stop_reason: str  # "paragraphs", "length", "end_of_text" or "context_full"
    clean_end: bool  # True if the text ends at a sentence end
    steps: list[Step]  # one light record per generated token (including any that were cut off)
    settings: SamplingSettings
    requested: int = 0  # how many paragraphs were asked for
    inserted_breaks: int = 0  # paragraph breaks put in at a sentence end because a paragraph ran past its share

    def __str__(self) -> str:
        return self.text

    @property
    def stop_explanation(self) -> str:
        """Why the essay ended, in one sentence every front end shows."""
        got, asked = len(self.paragraphs), self.requested
        inserted = (f" ({self.inserted_breaks} paragraph break{'s' * (self.inserted_breaks != 1)} put in at a sentence "
                    f"end, where a paragraph ran past its share of the tokens)") if self.inserted_breaks else ""
        if self.stop_reason == PARAGRAPHS or (asked and got == asked):
            return f"Stopped after {got} of {asked} paragraphs, as asked{inserted}."
        cut = "" if self.clean_end else "; the last sentence never ended, so the essay ends mid-sentence"
        return (f"Stopped after {got} of {asked} paragraphs because {STOP_REASONS[self.stop_reason]}"
                f"{cut}{inserted}.")


def count_paragraph_breaks(text: str) -> int:
    """How many paragraph breaks ``text`` holds: ``count_paragraph_breaks("a\\n\\nb\\nc") == 2``."""
    return len(PARAGRAPH_BREAK.findall(text))


def cut_at_sentence_end(text: str, start: int = 0) -> tuple[str, bool]:
    """``text`` up to its last sentence end at or after ``start``, and whether one was found.

    >>> cut_at_sentence_end("It rained. We stayed in. Then the")
    ('It rained. We stayed in.', True)
    >>> cut_at_sentence_end("no end here")
    ('no end here', False)
    """
    ends = [m.end() for m in SENTENCE_END.finditer(text, start)]
    if not ends:
        return text.rstrip(), False
    return text[: ends[-1]], True


def split_paragraphs(text: str) -> list[str]:
    """The paragraphs of ``text``, split at line breaks, each stripped, empty ones dropped."""
    return [p.strip() for p in PARAGRAPH_BREAK.split(text) if p.strip()]


def fair_share(max_new_tokens: int, paragraphs: int) -> int:
    """The tokens one paragraph may use before it ends at its next sentence end: ``fair_share(300, 3) == 100``."""
    return max(1, max_new_tokens // paragraphs)


def plan_paragraphs(prompt: str, tokens: list[str], share: int) -> tuple[int, list[int]]:
    """Read the generated tokens (as text) and find the paragraphs: (how many are complete, where breaks go in).

    A paragraph is complete at a line break the model wrote, or, once it holds ``share`` generated tokens,
    at its next sentence end: when the token after a complete sentence begins with a space, a break is
    put in before that token (its index is listed).

    >>> plan_paragraphs("A", [" b.", " c.", " d"], share=1)
    (2, [1, 2])
    """
    complete, inserted = 0, []
    paragraph, length = prompt, 0  # the text of the paragraph being written, and its generated tokens
    for i, token in enumerate(tokens):
        if length >= share and ENDS_A_SENTENCE.search(paragraph) and token[:1].isspace() and not PARAGRAPH_BREAK.match(token):
            inserted.append(i)
            complete += 1
            paragraph, length = "", 0
        paragraph += token
        length += 1
        parts = PARAGRAPH_BREAK.split(paragraph)
        if len(parts) > 1:  # the model wrote a line break: every part with words before it is a paragraph
            complete += sum(1 for part in parts[:-1] if part.strip())
            paragraph, length = parts[-1], 0
    return complete, inserted


def essay_text_with_breaks(lab, prompt_ids: list[int], new_ids: list[int], inserted: list[int]) -> tuple[str, list[int]]:
    """Prompt and continuation, with a blank line put in before each token index of ``inserted``; and where
    in the text each inserted break begins."""
    bounds = [0] + inserted + [len(new_ids)]
    pieces = [lab.decode(prompt_ids + new_ids[: bounds[1]]).rstrip()]
    pieces += [lab.decode(new_ids[a:b]).lstrip() for a, b in zip(bounds[1:], bounds[2:])]
    offsets, at = [], 0
    for piece in pieces[:-1]:
        at += len(piece)
        offsets.append(at)
        at += 2
    return "\n\n".join(pieces), offsets


def check_essay_request(prompt, paragraphs, max_new_tokens, temperature, top_k, top_p, seed, min_p=0.0,
                        repetition_penalty=1.0, no_repeat_ngram_size=0) -> SamplingSettings:
    """Check an essay request before any work (one clear sentence per mistake); return its sampling settings."""
    check_typed_prompt(prompt)
    check_whole_number(paragraphs, "paragraphs", minimum=1)
    return SamplingSettings(temperature=temperature, top_k=top_k, top_p=top_p, max_new_tokens=max_new_tokens, seed=seed,
                            min_p=min_p, repetition_penalty=repetition_penalty, no_repeat_ngram_size=no_repeat_ngram_size)


def write_essay(
    lab,
    prompt: str,
    paragraphs: int = 3,
    max_new_tokens: int = ESSAY_SETTINGS["max_new_tokens"],
    temperature: float = ESSAY_SETTINGS["temperature"],
    top_k: int | None = ESSAY_SETTINGS["top_k"],
    top_p: float = ESSAY_SETTINGS["top_p"],
    seed: int | None = 0,
    min_p: float = 0.0,
    repetition_penalty: float = 1.0,
    no_repeat_ngram_size: int = 0,
    on_token=None,
) -> Essay:
    """Write a short essay that continues ``prompt``: ``paragraphs`` paragraphs, or fewer if a limit comes first.

    The sampling settings are those of :class:`~gpt2lab.generation.sampling.SamplingSettings`. ``on_token``,
    if given, is called with the steps so far after every new token (a widget shows the text as it comes).
    """
    check_lab(lab)
    settings = check_essay_request(prompt, paragraphs, max_new_tokens, temperature, top_k, top_p, seed, min_p,
                                   repetition_penalty, no_repeat_ngram_size)
    lab.to_ids(prompt)  # a prompt that does not fit is reported before any work

    share = fair_share(settings.max_new_tokens, paragraphs)

    def enough_paragraphs(steps: list[Step]) -> str | None:
        if on_token is not None:
            on_token(steps)
        complete, _ = plan_paragraphs(prompt, [step.token for step in steps], share)
        return PARAGRAPHS if complete >= paragraphs else None

    result = generate(lab, prompt, settings=settings, keep=(), distributions=False, stop_when=enough_paragraphs)
    new_ids = result.new_ids
    if new_ids and result.stop_reason == STOPPED_AT_END_OF_TEXT:
        new_ids = new_ids[:-1]  # the text never shows <|endoftext|>
    _, inserted = plan_paragraphs(prompt, [step.token for step in result.steps[: len(new_ids)]], share)
    text, break_offsets = essay_text_with_breaks(lab, result.prompt_ids, new_ids, inserted)
    if result.stop_reason == PARAGRAPHS:  # drop the blank line and whatever began after the last complete paragraph
        breaks = [m.start() for m in PARAGRAPH_BREAK.finditer(text, len(prompt))]
        if len(breaks) >= paragraphs:
            text = text[: breaks[paragraphs - 1]]
    text, clean = cut_at_sentence_end(text, start=min(len(prompt), len(text)))
    paragraph_list = split_paragraphs(text)
    kept_inserted = sum(1 for at in break_offsets if at < len(text))
    return Essay(prompt, "\n\n".join(paragraph_list), paragraph_list, result.stop_reason, clean, result.steps, settings,
                 requested=paragraphs, inserted_breaks=kept_inserted)


__all__ = ["Essay", "write_essay", "fair_share", "plan_paragraphs", "check_essay_request", "cut_at_sentence_end", "split_paragraphs", "count_paragraph_breaks",
           "PARAGRAPHS", "STOPPED_AT_LENGTH", "STOPPED_AT_END_OF_TEXT", "STOPPED_AT_CONTEXT_FULL", "ESSAY_SETTINGS"]

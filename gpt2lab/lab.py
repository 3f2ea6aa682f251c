"""The lab: one loaded GPT-2, its tokenizer, and gpt2lab's own traced forward pass over its weights."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import torch

from gpt2lab import strict_device
from gpt2lab.model.cache import KVCache
from gpt2lab.model.config import ModelConfig
from gpt2lab.errors import LabError
from gpt2lab.generation.loop import generate
from gpt2lab.generation.text_model import TextModel
from gpt2lab.inputs import IDS_EXAMPLE, check_stage_patterns, check_text, check_whole_number, shown, token_ids
from gpt2lab.model.forward import ABLATIONS, StageEdits, ablate_heads, editing, forward
from gpt2lab.model.names import block_stage, select_stages, stage_names
from gpt2lab.model.trace import Trace
from gpt2lab.model.weights import GPT2Weights


DEVICE_ENV = "GPT2LAB_DEVICE"  # the environment variable that moves the whole course to a device, e.g. "cuda"


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The device to run on: the one asked for, else ``$GPT2LAB_DEVICE``, else the CPU.

    The CPU is the default even where a GPU is present: every tensor a learner makes in a cell
    (``torch.ones(...)``, ``torch.tensor(...)``) is born on the CPU, and the weights and traces they mix
    it with must live there too. Ask for ``"cuda"`` (or set ``GPT2LAB_DEVICE=cuda``) and everything the
    lab hands out — weights, traces, caches, logit-lens readings — lives on the GPU instead: one device,
    whichever it is. Make your own tensors there with :meth:`Lab.ids`, :meth:`Lab.tensor` and
    :meth:`Lab.arange` and a cell runs on either.

    With ``$GPT2LAB_STRICT_DEVICE`` set (the test suite's switch, see :mod:`gpt2lab.strict_device`), the
    default CPU becomes ``cpu:0``, a stand-in for a GPU that refuses the mixes a GPU refuses.
    """
    default = device is None or device == ""
    if default:
        device = os.environ.get(DEVICE_ENV, "").strip() or "cpu"
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise LabError(f"{device!r} is not a device; use 'cpu' or 'cuda'.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise LabError("No CUDA GPU is available here; use device='cpu' (or leave device unset).")
    if device.type == "cpu":
        if default and strict_device.requested():
            strict_device.switch_on()
            return strict_device.STAND_IN
        if strict_device.is_stand_in(device) and strict_device.active():
            return device  # a strict lab's own device, handed on (a fine-tuned copy lives where its original does)
        return torch.device("cpu")
    return device


def same_device(a: torch.device, b: torch.device) -> bool:
    """``cuda`` and ``cuda:0`` are the same device when 0 is the current one; ``cpu:0`` is strict mode's stand-in."""
    if a.type == "cpu" and b.type == "cpu":
        return strict_device.is_stand_in(a) == strict_device.is_stand_in(b)
    index = lambda d: d.index if d.index is not None else (torch.cuda.current_device() if d.type == "cuda" else 0)  # noqa: E731
    return a.type == b.type and index(a) == index(b)


class Lab:
    """A GPT-2 to take apart.

    ``lab.hf_model`` is the Hugging Face ``GPT2LMHeadModel`` (as :func:`gpt2lab.load` gives it: eval mode,
    eager attention) and ``lab.tokenizer`` its ``GPT2TokenizerFast``; ``lab.trace(text)`` runs gpt2lab's own
    forward pass over the same parameter tensors and returns every stage by name. A model handed to
    ``Lab(...)`` directly is used as it is, on the device it is on: the Lab never moves or changes it.
    """

    def __init__(self, hf_model, tokenizer, name: str, source: str = "", device=None, why: str = ""):
        model_device = next(hf_model.parameters()).device
        self.device = model_device if device is None else pick_device(device)
        if not same_device(self.device, model_device):
            raise LabError(f"The model's weights are on {model_device}, not {self.device}; move it first with "
                           f"model.to({str(self.device)!r}), or load it with gpt2lab.load(..., device={str(self.device)!r}).")
        self.hf_model = hf_model  # as given: gpt2lab reads its parameters and never changes the model itself
        self.tokenizer = tokenizer
        self.name = name  # what the model is called: "gpt2", "tiny", or a folder
        self.source = source  # where it came from, in words
        self.why = why  # why this model was chosen, in words (empty when it was asked for by name)
        self.config = ModelConfig.from_hf(hf_model.config)
        self.weights = GPT2Weights.from_hf(self.hf_model)  # views, not copies
        self._token_text: dict[int, str | None] = {}  # memo: each token's text, decoded once
        self._bpe = None  # gpt2lab's own tokenizer over the same files, built when first needed
        self._text_model = None  # what generation needs of this lab, built when first needed

    def __repr__(self) -> str:
        c = self.config
        return (
            f"Lab({self.name!r}: {c.n_layer} layers, {c.n_head} heads, d_model {c.d_model}, "
            f"context {c.n_ctx}, vocabulary {c.vocab_size}, {self.n_params() / 1e6:.1f}M parameters, on {self.device})"
            + (f" — {self.why}" if self.why else "")
        )

    @property
    def choice(self) -> str:
        """One line: which model this is and why it was loaded (what a notebook's first cell shows)."""
        why = self.why or f"it was asked for ({self.source})"
        return f"gpt2lab: using {self.name!r} ({self.n_params() / 1e6:.1f}M parameters, on {self.device}) because {why}."

    def n_params(self) -> int:
        """Number of parameters (the tied embedding counted once)."""
        return sum(p.numel() for p in self.hf_model.parameters())

    # --- tokens -------------------------------------------------------------------------------------

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` by gpt2lab's own byte-level BPE, the tokenizer notebook 01 takes apart
        (``<|endoftext|>`` in the text becomes the special token). The tests check it gives Hugging Face's
        and tiktoken's ids; only bulk encoding for training uses the fast Rust tokenizer, for speed."""
        return self.bpe.encode(check_text(text))

    def decode(self, ids: Iterable[int]) -> str:
        """The text of a list of token ids, by gpt2lab's own BPE (bytes joined, then read as UTF-8).

        A model may have more ids than its tokenizer has tokens (a vocabulary padded to a round number):
        those ids have no text and decode to nothing, as in Hugging Face's tokenizer."""
        return self.decode_checked(token_ids(ids, self.config.vocab_size, allow_empty=True).tolist())

    def decode_checked(self, ids: list[int]) -> str:
        """:meth:`decode` of ids already checked (what generation calls: it checked them once, on the way in)."""
        known = self.bpe.id_to_token
        return self.bpe.decode([i for i in ids if i in known])

    @property
    def bpe(self):
        """gpt2lab's own :class:`~gpt2lab.tokenizer.bpe.BPETokenizer`, reading this model's vocabulary and merges."""
        if self._bpe is None:
            from gpt2lab.tokenizer.bpe import BPETokenizer

            self._bpe = BPETokenizer.from_hf(self.tokenizer)
        return self._bpe

    def token_strings(self, ids: Iterable[int]) -> list[str]:
        """How each token reads: ``" world"``; a token holding only part of a character (an emoji is
        4 bytes) is labelled in context, like ``"[😀 1-2/4]"``, never shown as a garbled string."""
        return self.labels_checked(token_ids(ids, self.config.vocab_size, allow_empty=True).tolist())

    def labels_checked(self, ids: list[int]) -> list[str]:
        """:meth:`token_strings` of ids already checked (a trace's own ids, generation's candidates)."""
        ids = [int(i) for i in ids]
        for i in set(ids) - self._token_text.keys():
            self._token_text[i] = self._whole_token_text(i)
        labels = [self._token_text[i] for i in ids]
        if any(label is None for label in labels):  # pieces of characters need their neighbours
            known = self.bpe.id_to_token
            views = iter(self.bpe.token_views([i for i in ids if i in known]))
            labels = [next(views).label if i in known else self._token_text[i] for i in ids]
        return labels

    def _whole_token_text(self, token_id: int) -> str | None:
        """A token's text, or None if its bytes are only part of a character."""
        if token_id not in self.bpe.id_to_token:
            return f"<id {token_id}>"  # a model may have more ids than its tokenizer has tokens
        try:
            return self.bpe.token_bytes(token_id).decode("utf-8")
        except UnicodeDecodeError:
            return None

    def to_ids(self, text_or_ids: str | Sequence[int] | torch.Tensor, already: int = 0) -> torch.Tensor:
        """Check a text or a list of ids and return it as a (T,) tensor of ids that fits the context.

        ``already`` is the number of positions a KV cache holds before these.
        """
        vocab = self.config.vocab_size
        if isinstance(text_or_ids, str):
            if text_or_ids == "":
                raise LabError("The input is empty: type at least one character of text.")
            ids = token_ids(self.encode(text_or_ids), vocab, allow_empty=True)
            if len(ids) == 0:  # a text of only characters the tokenizer drops
                raise LabError("The input is empty: give at least one token.")
        elif text_or_ids is None or isinstance(text_or_ids, (int, float, bytes)):
            raise LabError(f"Give a text (a str) or token ids ({IDS_EXAMPLE}), not {text_or_ids!r}.")
        else:
            ids = token_ids(text_or_ids, vocab)
        n_ctx = self.config.n_ctx
        if already + len(ids) > n_ctx:
            if already:
                raise LabError(
                    f"The context window is full: {already:,} tokens are cached and {len(ids):,} more would pass "
                    f"this model's limit of {n_ctx:,}; start again with a shorter text."
                )
            raise LabError(f"The input is {len(ids):,} tokens long but this model's context window holds {n_ctx:,}; shorten it.")
        return ids

    # --- tensors on the lab's device -----------------------------------------------------------------

    def ids(self, text_or_ids: str | Sequence[int] | torch.Tensor) -> torch.Tensor:
        """The token ids of a text (or ids, checked against the vocabulary) as a (T,) long tensor on the
        lab's device, where traces live: use it for inputs, targets and indices you mix with a trace.

        ``lab.ids("The cat")`` is ``tensor([464, 3797])`` with GPT-2's tokenizer (on the lab's device, the
        CPU or a GPU); unlike :meth:`trace`, it does not limit the length to the context window.
        """
        if isinstance(text_or_ids, str):
            if text_or_ids == "":
                raise LabError("The text is empty: type at least one character of text.")
            text_or_ids = self.encode(text_or_ids)
        return token_ids(text_or_ids, self.config.vocab_size).to(self.device)

    def tensor(self, data, dtype: torch.dtype | None = None) -> torch.Tensor:
        """``torch.tensor(data)`` made on the lab's device: ``lab.tensor([2.0, 1.0])``. A tensor is copied
        there (its dtype changed when ``dtype`` is given); anything else is read as ``torch.tensor`` reads it."""
        if isinstance(data, torch.Tensor):
            return data.detach().to(self.device, dtype or data.dtype, copy=True)
        try:
            return torch.tensor(data, dtype=dtype, device=self.device)
        except (TypeError, ValueError, RuntimeError):
            raise LabError(f"lab.tensor takes a number, a list of numbers (lists of lists all of one length) or a "
                           f"tensor, not {shown(data)}.") from None

    def arange(self, n: int) -> torch.Tensor:
        """Positions ``0, 1, ..., n - 1`` as a (n,) long tensor on the lab's device: ``lab.arange(len(targets))``."""
        return torch.arange(check_whole_number(n, "n", minimum=0), device=self.device)

    def memory_report(self, tokens: int = 64, keep: Iterable[str] | None = None, cache: bool = False) -> str:
        """One line to print before large work: the memory this lab's weights hold, what a trace of ``tokens``
        tokens keeping ``keep`` (default every stage; ``cache=True`` adds a KV cache) would need, and what the
        lab's device has free (see :func:`gpt2lab.analysis.model_sizes.memory_needed`)."""
        from gpt2lab.analysis.model_sizes import available_memory, gib, memory_needed

        tokens = check_whole_number(tokens, "tokens", minimum=1)
        need = memory_needed(self.config, tokens=tokens, keep=check_stage_patterns(keep), cache=cache, weights=False)
        held = sum(p.numel() * p.element_size() for p in self.hf_model.parameters())
        line = f"{self.name} on {self.device}: weights {gib(held)} (loaded); {need}"
        free = available_memory(self.device)
        if free is None:
            return line + "."
        line += f"; {gib(free)} free"
        if need.total > free:
            return line + ": more than is free, so trace fewer tokens or keep fewer stages (keep=[...])."
        return line + "."

    # --- the forward pass ----------------------------------------------------------------------------

    def stage_names(self) -> list[str]:
        """Every stage name a full trace of this model records, in order."""
        return stage_names(self.config.n_layer)

    def new_cache(self) -> KVCache:
        """An empty KV cache for :meth:`trace` (room for the whole context window)."""
        return KVCache.empty(self.config, device=self.device, dtype=self.weights.token_embedding.dtype)

    @torch.no_grad()  # not inference_mode: a learner may mix trace tensors with the weights afterwards
    def trace(self, text_or_ids, *, cache: KVCache | None = None, keep: Iterable[str] | None = None,
              ablate_heads: Iterable[tuple[int, int]] | None = None, ablation: str = "zero",
              edits: StageEdits | None = None) -> Trace:
        """Run gpt2lab's forward pass and keep every stage (or only those in ``keep``, names or globs).

        With a ``cache``, the input continues the tokens the cache holds: only the new positions are
        computed, attending to the cached keys and values, and the cache is extended.

        ``ablate_heads=[(layer, head), ...]`` switches those heads off: their ``attn.z`` becomes zero
        (``ablation="zero"``) or its mean over the positions of this call (``ablation="mean"``) before the
        output projection; the trace records the z that was used. ``edits`` (stage name -> function of the
        tensor, see :func:`gpt2lab.model.forward.editing`) is the general form, e.g. for activation patching.

        >>> lab = load("tiny")                                           # doctest: +SKIP
        >>> t = lab.trace("The cat sat")                                  # doctest: +SKIP
        >>> t["blocks.0.attn.pattern"].shape                              # doctest: +SKIP
        torch.Size([4, 3, 3])
        """
        if cache is not None and not isinstance(cache, KVCache):
            raise LabError(f"cache must be a KVCache from lab.new_cache(), not {type(cache).__name__}.")
        ids = self.to_ids(text_or_ids, already=cache.length if cache is not None else 0)
        kept = select_stages(check_stage_patterns(keep), self.config.n_layer)
        unknown = sorted(set(edits or {}) - set(self.stage_names()))
        if unknown:
            raise LabError(f"No stage is called {unknown[0]!r}; see gpt2lab.stage_names({self.config.n_layer}) for the names.")
        return self.read(ids, cache, kept, {**self.ablation_edits(ablate_heads, ablation), **(edits or {})})

    @torch.no_grad()
    def read(self, ids: torch.Tensor, cache: KVCache | None = None, kept: Iterable[str] = (),
             edits: StageEdits | None = None) -> Trace:
        """The forward pass on ids already checked (what :meth:`trace` does after its checks, and what
        generation calls at every step): ``kept`` are stage names, not globs; ``edits`` stage edits."""
        already = cache.length if cache is not None else 0
        context_ids = torch.cat([torch.tensor(cache.ids if cache is not None else [], dtype=torch.long), ids.cpu()])
        kept = frozenset(kept)
        activations: dict[str, torch.Tensor] = {}

        def record(name: str, tensor: torch.Tensor) -> torch.Tensor:
            if name in kept:
                activations[name] = tensor
            return tensor

        ids = ids.to(self.device)  # a trace lives where the weights live: a learner can mix the two freely
        forward(ids, self.weights, self.config, editing(record, edits) if edits else record, cache)
        return Trace(ids=ids, start=already, context_ids=context_ids.to(self.device), activations=activations,
                     n_layer=self.config.n_layer, labeller=self.labels_checked)

    def text_model(self) -> TextModel:
        """What generation needs of this lab, and nothing more (see :mod:`gpt2lab.generation.text_model`)."""
        if self._text_model is None:
            eos = getattr(self.tokenizer, "eos_token_id", None)
            self._text_model = TextModel(
                name=self.name, n_ctx=self.config.n_ctx, n_layer=self.config.n_layer,
                vocab_size=self.config.vocab_size,
                eos_id=eos if eos is not None else getattr(self.hf_model.config, "eos_token_id", None),
                encode=self.to_ids, read=self.read, batch_logits=self.batch_logits, new_cache=self.new_cache,
                token_strings=self.labels_checked, decode=self.decode_checked,
            )
        return self._text_model

    @torch.no_grad()
    def batch_logits(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits of a batch of sequences, (B, T) ids -> (B, T, vocab_size), on this lab's device; no stage kept."""
        return forward(ids.to(self.device), self.weights, self.config)

    def ablation_edits(self, heads: Iterable[tuple[int, int]] | None, ablation: str = "zero") -> StageEdits:
        """The stage edits that switch ``heads`` ([(layer, head), ...]) off, checked against this model."""
        if ablation not in ABLATIONS:
            raise LabError(f"ablation={ablation!r} is not a kind of ablation; use one of {', '.join(map(repr, ABLATIONS))}.")
        by_layer: dict[int, list[int]] = {}
        c = self.config
        for pair in heads or []:
            try:
                layer, head = (int(v) for v in pair)
                if (layer, head) != tuple(pair):
                    raise ValueError
            except (TypeError, ValueError):
                raise LabError(f"{pair!r} is not a head; give each head as a pair (layer, head), like (0, 3).") from None
            if not (0 <= layer < c.n_layer and 0 <= head < c.n_head):
                raise LabError(f"There is no head ({layer}, {head}): this model has layers 0 to {c.n_layer - 1} "
                               f"and heads 0 to {c.n_head - 1} in each.")
            by_layer.setdefault(layer, []).append(head)
        return {block_stage(layer, "attn.z"): (lambda z, hs=sorted(set(hs)): ablate_heads(z, hs, ablation))
                for layer, hs in by_layer.items()}

    def surprisal(self, text_or_ids, top_k: int = 5):
        """How surprised the model is by each token of a text: probability, rank, top alternatives, perplexity.

        See :func:`gpt2lab.analysis.surprisal.surprisal`.
        """
        from gpt2lab.analysis.surprisal import surprisal

        return surprisal(self, text_or_ids, top_k)

    def generate(self, prompt: str, max_new_tokens: int | None = None, **options):
        """Continue ``prompt`` one token at a time: the text, a record per step, and why it stopped.

        See :func:`gpt2lab.generation.loop.generate` (``temperature=0`` is greedy; ``num_beams=k`` is beam
        search, which refuses the sampling settings it would not honour).
        """
        return generate(self, prompt, max_new_tokens, **options)

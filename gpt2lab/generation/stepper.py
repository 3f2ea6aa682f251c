"""Generation you drive by hand: step, force another token (a branch), go back, reset.

    stepper = Stepper(lab, "The cat sat", temperature=0.8, top_k=40)
    stepper.step()              # sample one token
    stepper.branch(1169)        # no: take token 1169 there instead (the first choice stays in the tree)
    stepper.back(); stepper.reset()

Every path tried from the prompt is kept in a :class:`BranchTree`, so a learner can return to any of them.
A session (prompt, settings, seed, every action) can be saved, replayed and handed out
(:mod:`gpt2lab.generation.session`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from gpt2lab.errors import LabError
from gpt2lab.generation.loop import DEFAULT_KEEP, GenerationResult, Keep, Step, sampling_settings, take_step
from gpt2lab.generation.sampling import SamplingSettings, check_prompt, check_settings, make_generator
from gpt2lab.generation.session import read_session, save_session, session_html
from gpt2lab.generation.stopping import STOP_REASONS, stop_reason
from gpt2lab.generation.text_model import text_model_of
from gpt2lab.inputs import check_token_id, check_whole_number, token_ids


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


class Stepper:
    """Generation you drive by hand: step, force a token (branch), go back, reset.

    Invariant: the KV cache holds a prefix of ``ids[:-1]`` -- every token except at least the newest one,
    which is read at the next step. So a step after a step, a back or a branch reads ONE new position.
    Going back and stepping again draws anew (the generator moves on); ``reset()`` starts the draws over.
    """

    def __init__(self, lab, prompt: str, settings: SamplingSettings | None = None, *,
                 keep: Iterable[str] | None = DEFAULT_KEEP, **sampling):
        self.model = text_model_of(lab)  # all the stepper needs of the lab
        check_prompt(prompt)
        self.keep = keep
        self._keep = Keep.of(keep, self.model.n_layer)
        self.reset(prompt, sampling_settings(settings, sampling))

    # -- state ------------------------------------------------------------------------------------------

    @property
    def new_ids(self) -> list[int]:
        return self.ids[len(self.prompt_ids) :]

    @property
    def stop_reason(self) -> str | None:
        """Why no further step can be taken ("length", "end_of_text", "context_full"), or None."""
        m = self.model
        return stop_reason(self.ids, len(self.steps), self.settings.max_new_tokens, m.eos_id, m.n_ctx)

    @property
    def text(self) -> str:
        return self.model.decode_without_end(self.ids)

    @property
    def last(self) -> Step | None:
        return self.steps[-1] if self.steps else None

    def result(self) -> GenerationResult:
        """The current path as a :class:`GenerationResult` (stop reason None if it could go on)."""
        return GenerationResult(self.prompt, list(self.prompt_ids), self.new_ids, list(self.steps),
                                self.stop_reason, self.text, self.model.decode_without_end(self.new_ids))

    # -- actions ----------------------------------------------------------------------------------------

    def reset(self, prompt: str | None = None, settings: SamplingSettings | None = None) -> None:
        """Back to the bare prompt (a new one if given), with a fresh generator and an empty branch tree."""
        prompt = self.prompt if prompt is None else prompt
        check_prompt(prompt)
        check_settings(settings)
        prompt_ids = self.model.encode(prompt).tolist()  # raises for a prompt longer than the context window
        self.prompt, self.prompt_ids = prompt, prompt_ids
        if settings is not None:
            self.settings = settings
        self.ids: list[int] = list(prompt_ids)
        self.steps: list[Step] = []
        self.tree = BranchTree()
        self.cache = self.model.new_cache()
        self.generator = make_generator(self.settings.seed)
        self.seed_used = self.generator.initial_seed()  # the seed in force, even when settings.seed is None
        self.actions: list[dict] = []  # every step, back and goto since the reset: what a saved session replays

    def step(self, token_id: int | None = None) -> Step:
        """Choose the next token with the current settings, or take ``token_id`` instead (a branch)."""
        if token_id is not None:
            token_id = check_token_id(token_id, self.model.vocab_size, what="A forced token")
        reason = self.stop_reason
        if reason is not None:
            raise LabError(f"Generation has stopped because {STOP_REASONS[reason]}; press Back or Reset to go on.")
        step = take_step(self.model, self.cache, self.ids, self.settings, self.generator, token_id, self._keep)
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
        token_id = check_token_id(token_id, self.model.vocab_size, what="A forced token")
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
        path = tuple(token_ids(path, self.model.vocab_size, allow_empty=True).tolist())
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
        save_session(self, path)

    @classmethod
    def load(cls, path, lab) -> "Stepper":
        """A stepper in the state a saved session was in, replayed on ``lab`` (the same model)."""
        return cls.replay(read_session(path), lab)

    @classmethod
    def replay(cls, data: dict, lab) -> "Stepper":
        """A new Stepper on ``lab`` with a session's actions (``data``, a read session) replayed, token for token."""
        model = text_model_of(lab)
        if data["model"] != model.name:
            raise LabError(f"This session was made with the model {data['model']!r}, not {model.name!r}: "
                           f"load it with gpt2lab.load({data['model']!r}) to replay it.")
        stepper = cls(model, data["prompt"], SamplingSettings(**data["settings"]))
        stepper.generator.manual_seed(int(data["seed"]))
        stepper.seed_used = int(data["seed"])
        for action in data["actions"]:
            if action["do"] == "step":
                stepper.settings = SamplingSettings(**action["settings"])
                step = stepper.step(action["token_id"])
                if step.token_id != action["chosen"]:
                    raise LabError("Replaying this session drew other tokens than when it was saved: "
                                   "it was saved with another version of the model.")
            elif action["do"] == "back":
                stepper.back()
            elif action["do"] == "goto":
                stepper.goto(action["path"])
        stepper.settings = SamplingSettings(**data.get("current_settings", data["settings"]))
        if stepper.new_ids != data["current"] or [list(b) for b in stepper.branches()] != data["branches"]:
            raise LabError("Replaying this session did not give the saved text and branches: the file was changed.")
        return stepper

    def save_html(self, path) -> None:
        """Write the session as one self-contained offline HTML page: the text, each step's candidates, the tree."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(session_html(self))

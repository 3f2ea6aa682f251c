"""The one exception a learner sees: a single sentence that says what to do.

Every check that a learner can trip (an empty prompt, an unknown model name, ``top_k=0`` ...) raises
:class:`LabError` with one clear sentence, so a notebook shows that sentence and not a traceback from deep
inside torch. Widgets catch it and print the message in their own output area.
"""


class LabError(ValueError):
    """A mistake in what was asked of gpt2lab, explained in one sentence."""

"""The loss every kind of training minimises, computed through gpt2lab's own forward pass.

Hugging Face's model holds the weights; the numbers come from :func:`gpt2lab.model.forward.forward` over views
of those weights, so the gradients flow back through exactly the stages a learner has read.

Next-token prediction: a window of T + 1 token ids gives T inputs and T targets, the same ids shifted by
one. The loss at each position is minus the log-probability the model gave the true next token
(cross-entropy, in nats).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gpt2lab.model.config import ModelConfig
from gpt2lab.model.forward import Recorder, final_hidden_state, forward, keep_nothing
from gpt2lab.model.weights import GPT2Weights


def model_weights(model) -> tuple[GPT2Weights, ModelConfig]:
    """gpt2lab's views of a Hugging Face GPT-2's parameters, and its shape (no copy: gradients reach ``model``)."""
    return GPT2Weights.from_hf(model), ModelConfig.from_hf(model.config)


def next_token_losses(model, windows: torch.Tensor, *, train: bool = False, record: Recorder = keep_nothing) -> torch.Tensor:
    """Cross-entropy (nats) of every next-token prediction in ``windows`` (B, T + 1): returns (B, T).

    ``train=True`` switches dropout on, as in training. ``record`` sees every stage, as in a trace (the
    embedded model's training reads two heads' patterns this way: :mod:`gpt2lab.training.guided_heads`).
    """
    weights, config = model_weights(model)
    x, y = windows[:, :-1], windows[:, 1:]  # (B, T) inputs and the token after each of them
    logits = forward(x, weights, config, record, train=train)  # (B, T, vocab_size)
    return F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none").view_as(y)  # (B, T)


def last_hidden_states(model, input_ids: torch.Tensor, positions: torch.Tensor, *, train: bool = False) -> torch.Tensor:
    """The final LayerNorm's output of each row at one position: (B, T) ids, (B,) positions -> (B, d_model)."""
    weights, config = model_weights(model)
    hidden = final_hidden_state(input_ids, weights, config, train=train)  # (B, T, d_model)
    return hidden[torch.arange(len(input_ids), device=hidden.device), positions]  # (B, d_model)

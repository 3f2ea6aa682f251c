"""Helpers that train the kit's embedded tiny GPT-2 on Jane Austen (``python -m gpt2lab.training.pretrain``).

One concept per module:

- ``corpus``: fetch Austen's six novels from Debian's ``r-cran-janeaustenr`` and split train/held-out.
- ``small_tokenizer``: GPT-2's own byte-level BPE, truncated to its first N merges.
- ``state``: save/resume the full training state with safetensors + JSON (never pickle).
- ``export``: write the shippable model folder (fp16 weights, tokenizer, card, metrics, loss curve).
"""

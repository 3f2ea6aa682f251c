"""Text to token ids and back: GPT-2's byte-level BPE, and learning merges from a text."""

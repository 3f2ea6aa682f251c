"""The model itself: GPT-2's stages, one concept per module, in the order the forward pass runs them."""

"""From logits to text: the sampling pipeline, the generation loop and the stepper."""

"""Looking inside: the logit lens, the residual stream, head scores, unmasked attention, model sizes."""

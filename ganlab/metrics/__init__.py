"""Sample-quality metrics: mode coverage on toy targets, k-NN precision/recall, W1 to a target."""

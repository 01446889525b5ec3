"""Batched models: N independent networks evaluated as one computation."""

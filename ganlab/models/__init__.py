"""Batched models: N independent networks evaluated as one computation.

Registered kinds (``MODELS``): ``mlp`` (``MLPSpec``, stacked weights through batched matmuls) and
``dcgan`` (``DCGANSpec``, convolutional, through ``torch.func``)."""

from . import conv, mlp  # noqa: F401  (register the model kinds)
from .base import MODELS, BatchedModel, Params, build_model, spec_from_dict, spec_to_dict

__all__ = ["MODELS", "BatchedModel", "Params", "build_model", "spec_from_dict", "spec_to_dict"]

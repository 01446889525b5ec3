"""Sample-quality metrics.

* ``ganlab.metrics.modes``: mode coverage on toy targets (PacGAN/VEEGAN): ``nearest_mode``,
  ``mode_metrics`` (one cloud) and ``mode_metrics_batched`` (every member of a run at once, on
  the samples' device);
* ``ganlab.metrics.knn``: k-NN ``precision_recall`` and ``density_coverage``;
* ``ganlab.metrics.wasserstein``: ``w1_to_target``, exact W1 to fresh target samples;
  ``block_w1_to_target`` (the training evaluator's: exact W1 in blocks, with a standard error)
  and ``w1_floor`` (its value for the target itself).
"""

"""The theory of GANs as computable functions: toy targets with exact densities, divergences,
the optimal discriminator and virtual criterion, packing, Wasserstein distances."""

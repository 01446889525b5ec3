"""The theory of GANs as computable functions: toy targets with exact densities, quadrature of
their densities, divergences, the optimal discriminator and virtual criterion, packing,
Wasserstein distances; the named toy pairs ``ganlab verify`` checks them on (``pairs``)."""

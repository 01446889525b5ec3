"""ganlab: GAN theory checked against experiment on toy targets with exact densities."""

__version__ = "0.1.0"

"""ganlab: GAN theory checked against experiment on toy targets with exact densities."""

from importlib import metadata as _metadata

try:  # the version lives in one place, pyproject.toml; the installed metadata carries it
    __version__ = _metadata.version("ganlab")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

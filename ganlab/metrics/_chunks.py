"""Chunk sizes shared by the metrics: temporaries are built a block of rows at a time so that
memory stays bounded whatever the number of samples (tests shrink ``CHUNK_ELEMENTS`` to check
that chunking does not change any result)."""

from __future__ import annotations

from ..validation import check_int

#: Elements (float64) of the largest temporary a chunk may build: 2**22 ≈ 4.2 M, 32 MiB.
CHUNK_ELEMENTS = 1 << 22


def chunk_rows(cols: int) -> int:
    """Rows per chunk when each row builds ``cols`` elements (read at call time, so patchable)."""
    return max(1, CHUNK_ELEMENTS // max(1, cols))


def check_chunk_size(chunk_size: int | None, cols: int) -> int:
    """``chunk_size`` rows if given (an integer >= 1), else ``chunk_rows(cols)``."""
    if chunk_size is None:
        return chunk_rows(cols)
    return check_int("chunk_size", chunk_size)

"""Data sources: toy targets, fixed data sets, image data, known distributions standing in for G."""

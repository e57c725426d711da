"""Loaders (one per format), the structure-aware chunker and the document model."""

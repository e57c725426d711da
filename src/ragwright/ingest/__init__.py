"""Turning sources on disk into indexed chunks: discovery, incremental planning and the embedding pipeline."""

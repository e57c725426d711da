"""Local models behind small Protocols: embedders, re-rankers, generators, and their registry."""

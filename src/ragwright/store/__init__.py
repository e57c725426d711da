"""The Store seam and its embedded SQLite implementation."""

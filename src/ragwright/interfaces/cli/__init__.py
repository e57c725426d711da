"""The `ragwright` command line: typer + rich over the library API in :mod:`ragwright.app`."""

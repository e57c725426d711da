"""`python -m ragwright` is the `ragwright` command."""

from ragwright.interfaces.cli.app import main

main()

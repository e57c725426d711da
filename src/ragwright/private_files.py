"""What ragwright creates for its own data is private to the user running it: directories 0700, files 0600.

The data directory holds document text (the index, uploads), key hashes, job results and spend, none of it meant for
other local users. Every place that creates a directory or a file there goes through these helpers. An existing
directory is left as it is (an administrator may have shared it on purpose). SQLite gives a database's ``-wal`` and
``-shm`` files the mode of the database file, so creating the database file with :func:`private_file` before
``sqlite3.connect`` covers them too.

Example::

    private_dir(data_dir / "uploads" / job_id)      # every directory it creates: 0700
    private_file(data_dir / "keys.sqlite")          # created empty, 0600, if missing; then sqlite3.connect(...)
    with open_private(job_dir / "a.pdf") as out:    # a new file written 0600
        out.write(data)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents with mode 0700 (whatever the umask); existing ones are kept as they
    are. Returns ``path``."""
    missing: list[Path] = []
    probe = Path(path)
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:  # another process made it first: theirs is private too
            continue
        os.chmod(directory, DIR_MODE)  # mkdir's mode passes through the umask; chmod does not
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 (and its missing directories 0700) unless it exists. Returns ``path``."""
    private_dir(Path(path).parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except FileExistsError:
        return path
    os.close(fd)
    return path


def open_private(path: Path) -> BinaryIO:
    """Open ``path`` for writing bytes, created (or truncated) with mode 0600."""
    private_dir(Path(path).parent)
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, FILE_MODE)
    return os.fdopen(fd, "wb")

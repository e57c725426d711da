"""The zip guard every zip-based loader (DOCX today; XLSX, ODT, EPUB later) calls before handing bytes to a parser.

A zip bomb is a small archive whose entries inflate to gigabytes; python-docx (like most parsers) reads each part
fully into memory and builds a tree from it, so a 2 MB file could take the process past 4 GB. :func:`check_archive`
refuses such an archive before any parser sees it, in two passes that each cost only a bounded amount of memory:

1. the **central directory**: at most ``max_entries`` entries, no entry declaring more than ``max_entry_bytes``,
   all of them together not more than ``max_total_bytes``, no encrypted entry, only stored or deflated data;
2. **inflating every entry** from its raw bytes, 1 MiB of output at a time, counting what comes out: headers can lie,
   so an entry that inflates past its declared size (or past a limit) is refused the moment it does.

Refusals are :class:`~ragwright.errors.ArchiveLimitError` (an ``IngestError``) whose ``limit`` names the limit hit;
a damaged archive is :class:`~ragwright.errors.CorruptFileError`. Example::

    check_archive(data, "report.docx")          # returns the entry count, or raises
    check_archive(data, "x.docx", ArchiveLimits(max_total_bytes=2**20))
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass

from ragwright.errors import ArchiveLimitError, CorruptFileError, EncryptedFileError

__all__ = ["ArchiveLimits", "check_archive"]

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_MAGIC = b"PK\x03\x04"
_OUT_STEP = 1 << 20
_IN_STEP = 1 << 16


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Per-archive caps. The defaults fit any real Word document and keep a parse of it well under 1 GB of memory."""

    max_entries: int = 10_000
    max_entry_bytes: int = 64 * 2**20
    max_total_bytes: int = 256 * 2**20


DEFAULT_LIMITS = ArchiveLimits()


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def check_archive(data: bytes, source: str, limits: ArchiveLimits = DEFAULT_LIMITS) -> int:
    """Raise unless ``data`` is a zip archive within ``limits``, whatever its headers claim; return its entry count."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, NotImplementedError, EOFError) as exc:
        raise CorruptFileError(source, f"not a readable zip package ({type(exc).__name__})") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_entries:
            raise ArchiveLimitError(
                source, "entries", f"archive has {len(entries):,} entries (limit: {limits.max_entries:,})"
            )
        declared = 0
        for info in entries:
            _check_declared(info, source, limits)
            declared += info.file_size
        if declared > limits.max_total_bytes:
            raise ArchiveLimitError(
                source,
                "total_bytes",
                f"archive declares {_mib(declared)} when inflated (limit: {_mib(limits.max_total_bytes)})",
            )
        total = 0
        for info in entries:
            total += _inflated_size(data, info, source, limits, total)
    return len(entries)


def _check_declared(info: zipfile.ZipInfo, source: str, limits: ArchiveLimits) -> None:
    if info.flag_bits & 0x1:
        raise EncryptedFileError(source, f"archive entry {info.filename} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise CorruptFileError(source, f"archive entry {info.filename} uses compression method {info.compress_type}")
    if info.file_size > limits.max_entry_bytes:
        raise ArchiveLimitError(
            source,
            "entry_bytes",
            f"archive entry {info.filename} inflates to {_mib(info.file_size)} "
            f"(limit: {_mib(limits.max_entry_bytes)} per entry)",
        )


def _raw(data: bytes, info: zipfile.ZipInfo, source: str) -> memoryview:
    """The entry's compressed bytes, located through its local header (as every unzip does)."""
    offset = info.header_offset
    if offset < 0 or offset + _LOCAL_HEADER.size > len(data):
        raise CorruptFileError(source, f"archive entry {info.filename} points outside the file")
    fields = _LOCAL_HEADER.unpack_from(data, offset)
    if fields[0] != _LOCAL_MAGIC:
        raise CorruptFileError(source, f"archive entry {info.filename} has no local header")
    start = offset + _LOCAL_HEADER.size + fields[9] + fields[10]
    end = start + info.compress_size
    if end > len(data):
        raise CorruptFileError(source, f"archive entry {info.filename} is truncated")
    return memoryview(data)[start:end]


def _inflated_size(data: bytes, info: zipfile.ZipInfo, source: str, limits: ArchiveLimits, before: int) -> int:
    """Inflate one entry, keeping at most 1 MiB of output at a time; refuse it as soon as it overruns."""
    raw = _raw(data, info, source)
    cap = min(info.file_size, limits.max_entry_bytes, limits.max_total_bytes - before)
    if info.compress_type == zipfile.ZIP_STORED:
        size = len(raw)
    else:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        size = 0
        pos = 0
        try:
            while not inflater.eof:
                if inflater.unconsumed_tail:
                    chunk = inflater.unconsumed_tail
                elif pos < len(raw):
                    chunk, pos = bytes(raw[pos : pos + _IN_STEP]), pos + _IN_STEP
                else:
                    break
                size += len(inflater.decompress(chunk, _OUT_STEP))
                if size > cap:
                    break
        except zlib.error:
            raise CorruptFileError(source, f"archive entry {info.filename} is not valid deflate data") from None
    if size > cap:
        _overrun(info, source, limits, size, before)
    if size != info.file_size:
        raise CorruptFileError(source, f"archive entry {info.filename} inflates to a size its header does not state")
    return size


def _overrun(info: zipfile.ZipInfo, source: str, limits: ArchiveLimits, size: int, before: int) -> None:
    if size > info.file_size:
        raise ArchiveLimitError(
            source,
            "declared_size",
            f"archive entry {info.filename} inflates past the {info.file_size:,} bytes its header declares",
        )
    if size > limits.max_entry_bytes:
        raise ArchiveLimitError(
            source,
            "entry_bytes",
            f"archive entry {info.filename} inflates to over {_mib(limits.max_entry_bytes)} (limit per entry)",
        )
    raise ArchiveLimitError(
        source, "total_bytes", f"archive inflates to over {_mib(limits.max_total_bytes)} (limit per archive)"
    )

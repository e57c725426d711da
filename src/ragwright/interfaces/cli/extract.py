"""`ragwright extract --schema S.json|module:Model FILES...`: documents into a schema, one JSON line per document.

Each line is the extraction of one file: ``data`` (the schema's object), ``valid``, the validation ``errors`` left
after the re-asks, and ``fields`` (every value with its range in the document's text and in the original file). A file
that cannot be read is a line with its ``error``, and the run goes on. A summary goes to stderr.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.documents.loaders import load_file
from ragwright.errors import IngestError, UserError
from ragwright.extract.examples import read_examples
from ragwright.extract.extractor import ExtractOptions
from ragwright.extract.schema import ExtractionSchema
from ragwright.extract.service import extract_model_name, make_extractor
from ragwright.interfaces.cli import render

__all__ = ["extract_command"]


def _write(out: TextIO, row: dict[str, Any]) -> None:
    out.write(json.dumps(row, ensure_ascii=False) + "\n")
    out.flush()


def extract_command(
    files: Annotated[list[Path], typer.Argument(help="Documents to extract from (md, txt, html, pdf, docx).")],
    schema: Annotated[str, typer.Option("--schema", help="A JSON Schema file, or module:Model (pydantic).")],
    examples: Annotated[
        Path | None, typer.Option("--examples", help='Few-shot examples, JSONL: {"text": ..., "output": {...}}.')
    ] = None,
    k: Annotated[int, typer.Option("--k", min=0, max=8, help="Examples per call, nearest to the input first.")] = 2,
    max_reasks: Annotated[int, typer.Option("--max-reasks", min=0, max=5, help="Re-asks after invalid output.")] = 2,
    chunk_tokens: Annotated[
        int, typer.Option("--chunk-tokens", min=64, help="Longer documents are extracted chunk by chunk.")
    ] = 1000,
    model: Annotated[str | None, typer.Option("--model", help="provider:model (default [agent].model).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the JSONL here (default stdout).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Path to ragwright.toml.")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Index directory (default ./.ragwright).")] = None,
) -> None:
    """Extract structured data from documents into a schema (JSONL: one line per document)."""
    loaded = ExtractionSchema.load(schema)
    rw = Ragwright(load_settings(config, data_dir=data_dir))
    sink = out.open("w", encoding="utf-8") if out else sys.stdout
    valid = failed = 0
    try:
        pool = read_examples(examples, loaded) if examples else []
        options = ExtractOptions(k=k, max_reasks=max_reasks, chunk_tokens=chunk_tokens)
        extractor = make_extractor(rw, loaded, model=model, examples=pool, options=options)
        max_bytes = int(rw.settings.ingest.max_file_mb * 2**20)
        render.err_console.print(
            f"[dim]{extract_model_name(rw, model)} · schema {loaded.name} · {len(pool)} examples, k={k}[/]"
        )
        for path in files:
            try:
                doc = load_file(path, path.name, max_bytes=max_bytes)
            except IngestError as exc:
                failed += 1
                _write(sink, {"source": str(path), "error": exc.reason})
                continue
            result = asyncio.run(extractor.extract(doc))
            valid += result.valid
            _write(sink, {**result.to_dict(), "source": str(path)})
    finally:
        if out:
            sink.close()
        rw.close()
    render.err_console.print(f"[dim]{valid} of {len(files)} valid · {failed} unreadable[/]")
    if failed == len(files):
        raise UserError("no file could be read")

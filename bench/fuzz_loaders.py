"""Fuzz the document loaders (PDF, DOCX, HTML, Markdown, BEIR JSONL) by mutating seed corpora of valid files.

Seeds are generated here (fpdf2 PDFs, python-docx documents, HTML and Markdown pages, BEIR corpus lines); each input
is a seed after 1-4 mutations: byte flips, chunk splices (within a seed or across seeds), truncation, duplicated
chunks, and for DOCX a mutation of one zip entry's content (so the XML parsers are reached, not only the zip reader).
Inputs are parsed by a child process under the ingest worker's own limits (``ragwright.ingest.limits``: address-space
cap, CPU budget per parse), one input at a time, as the worker does; the parent kills it past ``--hang`` seconds.

Reported per format: inputs tried, the share that reached the parser (past the format's magic-number check: ``%PDF-``
in the first KiB, a zip holding ``word/document.xml``, text that decodes), typed refusals (``IngestError``), crashes
(any other exception, or the child dying), hangs, and the child's peak RSS (VmHWM). Every input that failed is kept
under ``--cases`` (``tests/documents/fuzz_cases/``), which ``tests/documents/test_fuzz_cases.py`` replays.

    nice -n 10 python bench/fuzz_loaders.py --seconds 120 --out bench/results/fuzz-loaders.json   # 2 min per format
    nice -n 10 python bench/fuzz_loaders.py --seconds 600                                        # the full 10 minutes
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import select
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

EXT = {"pdf": ".pdf", "docx": ".docx", "html": ".html", "md": ".md", "beir": ".jsonl"}
ROOT = Path(__file__).resolve().parent.parent


# -- seeds ---------------------------------------------------------------------------------------------------------


def _pdf_seeds() -> list[bytes]:
    from fpdf import FPDF

    out = []
    for pages in (["Kettle manual. Descale monthly."], ["Page one text.", "Page two: warranty 3 years.", "Three"]):
        pdf = FPDF()
        pdf.set_title("Seed")
        for text in pages:
            pdf.add_page()
            pdf.set_font("Helvetica", size=11)
            pdf.multi_cell(0, 6, text * 5)
        out.append(bytes(pdf.output()))
    return out


def _docx_seeds() -> list[bytes]:
    import docx

    out = []
    for n in (1, 3):
        d = docx.Document()
        d.add_heading("Owner Manual", 0)
        for i in range(n):
            d.add_heading(f"Section {i}", 1)
            d.add_paragraph(f"The kettle holds {i + 1} litres. " * 4)
        table = d.add_table(rows=2, cols=2)
        table.cell(0, 0).text, table.cell(1, 1).text = "Model", "K-100"
        buf = io.BytesIO()
        d.save(buf)
        out.append(buf.getvalue())
    return out


def _html_seeds() -> list[bytes]:
    return [
        b"<!doctype html><html><head><title>Kettle</title></head><body><h1>Kettle</h1><p>Descale monthly.</p>"
        b"<h2>Warranty</h2><p>Three years.</p><table><tr><td>a</td><td>b</td></tr></table></body></html>",
        b"<html><body><nav>menu</nav><article><h1>News</h1><p>Text &amp; more <b>bold</b>.</p>"
        b"<script>var x = 1;</script><ul><li>one</li><li>two</li></ul></article></body></html>",
    ]


def _md_seeds() -> list[bytes]:
    return [
        b"---\ntitle: Kettle\ntags: [public, manual]\n---\n# Kettle\n\n## Warranty\n\nThree years.\n\n```\ncode\n```\n",
        b"# Guide\n\nIntro paragraph with *emphasis* and [a link](http://x).\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
        b"\n## Steps\n\n1. one\n2. two\n\n> quote\n",
    ]


def _beir_seeds() -> list[bytes]:
    rows = [{"_id": f"d{i}", "title": f"Title {i}", "text": f"Abstract number {i} about kettles."} for i in range(4)]
    return ["\n".join(json.dumps(r) for r in rows).encode() + b"\n", json.dumps(rows[0]).encode() + b"\n"]


SEEDS: dict[str, Callable[[], list[bytes]]] = {
    "pdf": _pdf_seeds,
    "docx": _docx_seeds,
    "html": _html_seeds,
    "md": _md_seeds,
    "beir": _beir_seeds,
}


# -- mutations -----------------------------------------------------------------------------------------------------


def _flip(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, max(1, len(b) // 200))):
        if b:
            b[rng.randrange(len(b))] = rng.randrange(256)
    return bytes(b)


def _splice(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    donor = rng.choice(pool)
    if not donor or not data:
        return data
    i, j = sorted(rng.randrange(len(donor) + 1) for _ in range(2))
    at = rng.randrange(len(data) + 1)
    cut = at + rng.randint(0, 64)
    return data[:at] + donor[i : j + 1] + data[cut:]


def _truncate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _repeat(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    chunk = data[i : i + rng.randint(1, 256)]
    return data[:i] + chunk * rng.randint(2, 200) + data[i:]


def _zip_entry(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    """Rewrite the archive with one entry's content mutated (XML parts are picked most often)."""
    try:
        src = zipfile.ZipFile(io.BytesIO(data))
        infos = src.infolist()
        names = [i.filename for i in infos if i.filename.endswith((".xml", ".rels"))] or [i.filename for i in infos]
        target = rng.choice(names)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in infos:
                body = src.read(info)
                if info.filename == target:
                    body = rng.choice([_flip, _splice, _truncate, _repeat])(rng, body, [src.read(i) for i in infos])
                dst.writestr(info, body)
        return out.getvalue()
    except Exception:  # an archive an earlier mutation broke: mutate its bytes instead
        return _flip(rng, data, pool)


def mutate(rng: random.Random, fmt: str, seeds: list[bytes]) -> bytes:
    data = rng.choice(seeds)
    ops = [_flip, _splice, _truncate, _repeat] + ([_zip_entry] * 4 if fmt == "docx" else [])
    for _ in range(rng.randint(1, 4)):
        data = rng.choice(ops)(rng, data, seeds)
    return data


def reaches_parser(fmt: str, data: bytes) -> bool:
    """Past the magic-number check: what random bytes would not be."""
    if fmt == "pdf":
        return b"%PDF-" in data[:1024]
    if fmt == "docx":
        try:
            return "word/document.xml" in zipfile.ZipFile(io.BytesIO(data)).namelist()
        except Exception:
            return False
    try:
        data.decode("utf-8")
        return b"\x00" not in data
    except UnicodeDecodeError:
        return False


# -- the child: parses under the worker's limits ------------------------------------------------------------------


def child() -> None:
    """Read ``fmt path`` lines; parse each under the worker's limits; answer one JSON line each."""
    import traceback

    from ragwright.config import Settings
    from ragwright.documents.beir import iter_beir_corpus
    from ragwright.documents.loaders import load_file
    from ragwright.errors import IngestError
    from ragwright.ingest.limits import ParseLimits, limit_memory, parse_budget

    limits = ParseLimits.from_settings(Settings())
    limit_memory(limits)
    for line in sys.stdin:
        fmt, path = line.split(" ", 1)
        p = Path(path.strip())
        result: dict[str, Any] = {"outcome": "ok"}
        try:
            with parse_budget(p.name, limits):
                if fmt == "beir":
                    errors: list[IngestError] = []
                    list(iter_beir_corpus(p, on_error=errors.append))
                else:
                    load_file(p, p.name, max_bytes=50 * 2**20)
        except IngestError as err:
            result = {"outcome": "typed", "error": type(err).__name__}
        except Exception as exc:
            result = {"outcome": "crash", "error": type(exc).__name__, "trace": traceback.format_exc()[-1500:]}
        print(json.dumps(result), flush=True)


# -- the parent ----------------------------------------------------------------------------------------------------


@dataclass
class FormatReport:
    format: str
    seconds: float = 0.0
    inputs: int = 0
    reached_parser: int = 0
    ok: int = 0
    typed_errors: dict[str, int] = field(default_factory=dict)
    crashes: int = 0
    hangs: int = 0
    child_deaths: int = 0
    max_child_rss_mb: float = 0.0
    failures: list[dict[str, Any]] = field(default_factory=list)


class Child:
    """One parsing child process; restarted after it dies or hangs."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        self.hwm = 0.0

    def rss_mb(self) -> float:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.hwm = max(self.hwm, int(line.split()[1]) / 1024)
        except OSError:
            pass
        return self.hwm

    def parse(self, fmt: str, path: Path, hang: float) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(f"{fmt} {path}\n")
            self.proc.stdin.flush()
        except OSError:
            return {"outcome": "died", "error": f"exit {self.proc.poll()}"}
        ready, _, _ = select.select([self.proc.stdout], [], [], hang)
        if not ready:
            return {"outcome": "hang"}
        line = self.proc.stdout.readline()
        if not line:
            return {"outcome": "died", "error": f"exit {self.proc.wait()}"}
        result: dict[str, Any] = json.loads(line)
        return result

    def stop(self) -> None:
        self.rss_mb()
        self.proc.kill()
        self.proc.wait()


def fuzz(fmt: str, seconds: float, hang: float, rng: random.Random, work: Path, cases: Path | None) -> FormatReport:
    seeds = SEEDS[fmt]()
    report = FormatReport(fmt)
    child = Child()
    started = time.monotonic()
    path = work / f"input{EXT[fmt]}"
    while time.monotonic() - started < seconds:
        data = mutate(rng, fmt, seeds)
        path.write_bytes(data)
        report.inputs += 1
        report.reached_parser += reaches_parser(fmt, data)
        t0 = time.monotonic()
        result = child.parse(fmt, path, hang)
        took = time.monotonic() - t0
        outcome = result["outcome"]
        if outcome == "ok":
            report.ok += 1
        elif outcome == "typed":
            report.typed_errors[result["error"]] = report.typed_errors.get(result["error"], 0) + 1
        else:
            report.crashes += outcome in ("crash", "died")
            report.hangs += outcome == "hang"
            report.child_deaths += outcome == "died"
            digest = hashlib.sha256(data).hexdigest()[:12]
            failure = {"outcome": outcome, "error": result.get("error"), "seconds": round(took, 2), "sha": digest}
            if cases is not None and len(data) <= 256 * 1024:
                cases.mkdir(parents=True, exist_ok=True)
                (cases / f"{fmt}-{digest}{EXT[fmt]}").write_bytes(data)
                failure["case"] = f"{fmt}-{digest}{EXT[fmt]}"
            report.failures.append(failure | {"trace": result.get("trace", "")[-400:]})
            print(f"  {fmt}: {outcome} {result.get('error')} ({took:.1f} s)", file=sys.stderr)
        if outcome in ("hang", "died"):
            child.stop()
            report.max_child_rss_mb = max(report.max_child_rss_mb, child.hwm)
            child = Child()
        elif report.inputs % 50 == 0:
            child.rss_mb()
    child.stop()
    report.max_child_rss_mb = round(max(report.max_child_rss_mb, child.hwm), 1)
    report.seconds = round(time.monotonic() - started, 1)
    return report


def main() -> None:
    if "--child" in sys.argv:
        child()
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=120.0, help="time per format (the issue's full run: 600)")
    ap.add_argument("--formats", default="pdf,docx,html,md,beir")
    ap.add_argument("--hang", type=float, default=10.0, help="seconds after which one parse counts as a hang")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--cases", type=Path, default=ROOT / "tests/documents/fuzz_cases")
    ap.add_argument("--work", type=Path, default=Path("/tmp/ragwright-fuzz"))
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    reports = []
    for fmt in args.formats.split(","):
        rep = fuzz(fmt, args.seconds, args.hang, rng, args.work, args.cases)
        reports.append(rep)
        share = rep.reached_parser / max(1, rep.inputs)
        print(
            f"{fmt:5} inputs {rep.inputs:6}  reached parser {share:6.1%}  ok {rep.ok:5}  "
            f"typed {sum(rep.typed_errors.values()):5}  crashes {rep.crashes}  hangs {rep.hangs}  "
            f"max RSS {rep.max_child_rss_mb:.0f} MB",
            flush=True,
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "seconds_per_format": args.seconds,
            "hang_seconds": args.hang,
            "seed": args.seed,
            "cpus": os.cpu_count(),
        }
        args.out.write_text(json.dumps({"meta": meta, "formats": [asdict(r) for r in reports]}, indent=1) + "\n")


if __name__ == "__main__":
    main()

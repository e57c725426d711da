"""`ragwright bench verifier`: how often the sentence check lets an unsupported sentence pass, and how often it drops
a supported one, on the labelled pairs of :mod:`ragwright.bench.verifier_pairs`, per split, kind and source.

The offline check always runs; the model judge runs when a model is given (through the one gateway of the process),
on a seeded sample of each split when ``judge_limit`` is set (a real model judges a pair in seconds).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ragwright.answering.sentences import split_sentences
from ragwright.answering.verify import EvidenceText, Verdict, verify_offline
from ragwright.bench.verifier_pairs import Pair, build_pairs, content_hash, split_of
from ragwright.errors import UserError
from ragwright.models.base import Embedder

TARGET_UNSUPPORTED_PASS = 0.05
TARGET_SUPPORTED_DROP = 0.10

JudgeFn = Callable[[str, Sequence[EvidenceText]], Verdict]


class CachedEmbedder:
    """An :class:`Embedder` that embeds each distinct text once (the pairs share their evidence)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._cache: dict[str, npt.NDArray[np.float32]] = {}

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vec in zip(missing, self.inner.embed(missing), strict=True):
                self._cache[text] = vec
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        return self.inner.embed_query(text)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def warm(self, texts: Sequence[str], batch: int = 256) -> None:
        """Embed many texts in large batches up front (sorted by length: less padding)."""
        todo = sorted({t for t in texts if t not in self._cache}, key=len)
        for i in range(0, len(todo), batch):
            self.embed(todo[i : i + batch])


def evidence_of(pair: Pair) -> list[EvidenceText]:
    """The pair's passages cut into sentences, as the ask pipeline's evidence sentences are."""
    out: list[EvidenceText] = []
    for k, passage in enumerate(pair.evidence):
        title = pair.titles[k] if k < len(pair.titles) else ""
        out.extend(EvidenceText(passage[s:e], passage=str(k), context=title) for s, e in split_sentences(passage))
    return out


@dataclass(frozen=True, slots=True)
class Outcome:
    """One benchmark pair and the verifier's verdict on it."""

    pair: Pair
    verdict: Verdict


def rates(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Unsupported sentences that passed, supported ones dropped, over all and per kind and source."""

    def block(group: Sequence[Outcome]) -> dict[str, Any]:
        unsup = [o for o in group if not o.pair.supported]
        sup = [o for o in group if o.pair.supported]
        passed = sum(o.verdict.supported for o in unsup)
        dropped = sum(not o.verdict.supported for o in sup)
        return {
            "n_unsupported": len(unsup),
            "n_supported": len(sup),
            "unsupported_passed": round(passed / len(unsup), 4) if unsup else None,
            "supported_dropped": round(dropped / len(sup), 4) if sup else None,
        }

    kinds = sorted({(o.pair.kind, o.pair.supported) for o in outcomes})
    sources = sorted({o.pair.source for o in outcomes})
    failures: dict[str, int] = {}
    for o in outcomes:
        if o.verdict.failure is not None:
            failures[o.verdict.failure.value] = failures.get(o.verdict.failure.value, 0) + 1
    return {
        **block(outcomes),
        "by_kind": {
            f"{k}:{'supported' if s else 'unsupported'}": block(
                [o for o in outcomes if o.pair.kind == k and o.pair.supported == s]
            )
            for k, s in kinds
        },
        "by_source": {src: block([o for o in outcomes if o.pair.source == src]) for src in sources},
        "failures": dict(sorted(failures.items())),
    }


def run_offline(pairs: Sequence[Pair], embedder: Embedder | None) -> list[Outcome]:
    out = []
    for pair in pairs:
        verdict = verify_offline([pair.sentence], evidence_of(pair), embedder, earlier=pair.earlier)[0]
        out.append(Outcome(pair, verdict))
    return out


def run_judge(pairs: Sequence[Pair], judge: JudgeFn) -> list[Outcome]:
    """The model judge on each pair; repeats are collapsed before any judge call, as in the ask pipeline."""
    out = []
    for pair in pairs:
        if pair.earlier:
            verdict = verify_offline([pair.sentence], [], None, earlier=pair.earlier)[0]
            if verdict.failure is not None and verdict.failure.value == "repeat":
                out.append(Outcome(pair, verdict))
                continue
        out.append(Outcome(pair, judge(pair.sentence, evidence_of(pair))))
    return out


def load_split(data_dir: Path) -> frozenset[str]:
    path = data_dir / "split.json"
    if not path.is_file():
        raise UserError(f"{path} is missing: run from the repository root or pass --data")
    return frozenset(json.loads(path.read_text(encoding="utf-8"))["test"])


def run_verifier_bench(
    datasets: Path,
    data_dir: Path,
    *,
    embedder: Embedder | None,
    judge: JudgeFn | None = None,
    judge_name: str | None = None,
    judge_limit: int | None = None,
    splits: Sequence[str] = ("tune", "test"),
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Offline check on every pair of each split; the judge on every pair (or a seeded sample of ``judge_limit``)."""
    if not (datasets / "xquad-en" / "xquad.en.json").is_file() or not (datasets / "scifact").is_dir():
        raise UserError(f"{datasets} must hold xquad-en/xquad.en.json and scifact/ (see bench/data/verifier/README.md)")
    pairs = build_pairs(datasets, data_dir)
    test_docs = load_split(data_dir)
    cached = CachedEmbedder(embedder) if embedder is not None else None
    result: dict[str, Any] = {
        "pairs": len(pairs),
        "pairs_digest": content_hash(pairs),
        "embedder": embedder.name if embedder else None,
        "targets": {"unsupported_passed_max": TARGET_UNSUPPORTED_PASS, "supported_dropped_max": TARGET_SUPPORTED_DROP},
        "splits": {},
    }
    for split in splits:
        chosen = [p for p in pairs if split_of(p.doc, test_docs) == split]
        if cached is not None:
            cached.warm([p.sentence for p in chosen] + [e.text for p in chosen for e in evidence_of(p)])
        clock = time.perf_counter()
        offline = run_offline(chosen, cached)
        entry: dict[str, Any] = {"offline": rates(offline), "offline_ms_per_pair": _ms(clock, len(chosen))}
        if progress:
            progress(f"{split}: offline done ({len(chosen)} pairs)")
        if judge is not None:
            sample = chosen
            if judge_limit is not None and judge_limit < len(chosen):
                sample = random.Random(f"judge:{split}").sample(chosen, judge_limit)
            clock = time.perf_counter()
            judged = run_judge(sample, judge)
            entry["judge"] = {
                "model": judge_name,
                **rates(judged),
                "ms_per_pair": _ms(clock, len(sample)),
                "by_probability": sum(o.verdict.judged_by == "model" for o in judged),
            }
            in_sample = set(sample)
            entry["offline_on_judge_sample"] = rates([o for o in offline if o.pair in in_sample])
        result["splits"][split] = entry
    return result


def _ms(clock: float, n: int) -> float:
    return round((time.perf_counter() - clock) * 1000.0 / max(1, n), 3)

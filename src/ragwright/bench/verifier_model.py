"""Real model outputs in the verifier benchmark: replies of a local model to XQuAD-en questions, labelled by hand.

``bench/verifier_model_outputs.py`` asked the questions (``model_outputs.jsonl``: question, the paragraphs shown,
the reply); each sentence of each reply was then labelled supported or not against those paragraphs
(``model_labels.jsonl``). A reply that says NOT IN DOCUMENTS contributes no sentence: it is an abstention, not a claim.
"""

from __future__ import annotations

import json
from pathlib import Path

from ragwright.bench.verifier_pairs import Pair


def _jsonl(path: Path) -> list[dict[str, object]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def model_pairs(xquad: Path, data_dir: Path) -> list[Pair]:
    """One pair per labelled sentence; evidence = the paragraphs the model was shown, in the order it saw them."""
    articles = json.loads(xquad.read_text(encoding="utf-8"))["data"]
    outputs = {str(r["id"]): r for r in _jsonl(data_dir / "model_outputs.jsonl")}
    pairs: list[Pair] = []
    for label in _jsonl(data_dir / "model_labels.jsonl"):
        out = outputs[str(label["id"])]
        article = articles[int(str(out["article"]))]
        shown = [int(str(p)) for p in out["passages"]]  # type: ignore[attr-defined]
        evidence = tuple(article["paragraphs"][p]["context"] for p in shown)
        doc = f"xquad:{article['title']}"
        pairs.append(
            Pair(
                id=f"model:{label['id']}.{label['i']}",
                source="model",
                doc=doc,
                kind="model",
                supported=bool(label["supported"]),
                sentence=str(label["sentence"]),
                evidence=evidence,
                earlier=tuple(str(s) for s in label.get("earlier", [])),  # type: ignore[attr-defined]
                titles=(article["title"],) * len(evidence),
            )
        )
    return pairs

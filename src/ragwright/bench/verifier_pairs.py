"""The verifier benchmark's sentence/evidence pairs, rebuilt deterministically from XQuAD-en and SciFact.

Each pair is a sentence an answer might contain, the evidence passages it would be checked against, and a label:
*supported* (a verbatim evidence sentence, a light paraphrase, a question turned into a statement with its gold
answer) or *unsupported* (the same sentences with a swapped number, unit, entity or negation; a sentence from a
related passage that is not in the evidence; a repeat of a sentence the answer already holds). Pairs are built by
rules from the datasets in ``../shared/datasets`` (their licences forbid committing SciFact text), so the same
command always rebuilds the same pairs. Real model outputs, labelled by hand, come from
``bench/data/verifier/model_labels.jsonl`` (see :mod:`ragwright.bench.verifier_model`).

The split is by document, frozen in ``bench/data/verifier/split.json`` before any tuning: an XQuAD article or a
SciFact abstract is wholly in the tune half or wholly in the test half.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ragwright.answering.sentences import split_sentences
from ragwright.bench.verifier_rewrites import (
    NUMBER_RE,
    entities,
    negate,
    paraphrase,
    qa_statement,
    swap_entity,
    swap_number,
    swap_unit,
)

SEED = 20261203
SUPPORTED_KINDS = ("verbatim", "paraphrase", "qa_statement", "model")
UNSUPPORTED_KINDS = ("number", "unit", "entity", "negation", "absent", "repeat", "model")


@dataclass(frozen=True, slots=True)
class Pair:
    """One labelled sentence with the evidence passages it is checked against."""

    id: str
    source: str
    """xquad | scifact | model"""
    doc: str
    """The document the split is drawn by (``xquad:<article title>``, ``scifact:<abstract id>``)."""
    kind: str
    supported: bool
    sentence: str
    evidence: tuple[str, ...]
    earlier: tuple[str, ...] = ()
    """Sentences the answer already holds (a repeat of one of them must be collapsed)."""
    titles: tuple[str, ...] = field(default=())
    """Title of each evidence passage (what a chunk's context carries)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def split_of(doc: str, test_docs: frozenset[str]) -> str:
    return "test" if doc in test_docs else "tune"


def make_split(xquad: Path, scifact: Path) -> dict[str, list[str]]:
    """Half of the XQuAD articles and half of the sampled SciFact abstracts, by a seeded shuffle: the frozen split."""
    rng = random.Random(SEED)
    titles = sorted(f"xquad:{a['title']}" for a in json.loads(xquad.read_text(encoding="utf-8"))["data"])
    rng.shuffle(titles)
    abstracts = sorted(f"scifact:{d}" for d in _scifact_sample(scifact))
    rng.shuffle(abstracts)
    test = sorted(titles[: len(titles) // 2] + abstracts[: len(abstracts) // 2])
    tune = sorted(titles[len(titles) // 2 :] + abstracts[len(abstracts) // 2 :])
    return {"test": test, "tune": tune}


# -------------------------------------------------------------------------------------------------- the datasets


def _sentences(text: str, lo: int = 6, hi: int = 45) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text) if lo <= len(text[s:e].split()) <= hi]


def _scifact_sample(scifact: Path, n: int = 160) -> list[str]:
    """Abstracts cited by SciFact claims (train and test qrels), a seeded sample of ``n``."""
    cited: set[str] = set()
    for split in ("train", "test"):
        for line in (scifact / "qrels" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()[1:]:
            parts = line.split("\t")
            if len(parts) >= 2:
                cited.add(parts[1].strip())
    return sorted(random.Random(SEED).sample(sorted(cited), n))


def _doc_pairs(
    source: str,
    doc: str,
    evidence: tuple[str, ...],
    titles: tuple[str, ...],
    others: list[str],
    rng: random.Random,
    prefix: str,
) -> Iterator[Pair]:
    """The rule-made pairs of one document: ``evidence[0]`` is its own text, ``others`` related absent text."""
    own = _sentences(evidence[0])
    if not own:
        return
    pool_entities = entities(" ".join(evidence))
    pool_numbers = [m.group(0) for m in NUMBER_RE.finditer(" ".join(evidence))]
    n = 0

    def pair(kind: str, supported: bool, sentence: str, earlier: tuple[str, ...] = ()) -> Pair:
        nonlocal n
        n += 1
        return Pair(f"{prefix}.{n}", source, doc, kind, supported, sentence, evidence, earlier, titles)

    yield pair("verbatim", True, rng.choice(own))
    for s in rng.sample(own, len(own)):
        p = paraphrase(s, rng)
        if p:
            yield pair("paraphrase", True, p)
            break
    makers: dict[str, Callable[[str], str | None]] = {
        "number": lambda s: swap_number(s, pool_numbers, rng),
        "unit": lambda s: swap_unit(s, rng),
        "entity": lambda s: swap_entity(s, pool_entities, rng),
        "negation": lambda s: negate(s, rng),
    }
    for kind, make in makers.items():
        for s in rng.sample(own, len(own)):
            out = make(s)
            if out and out != s:
                yield pair(kind, False, out)
                break
    absent = [s for text in others for s in _sentences(text)]
    if absent:
        yield pair("absent", False, rng.choice(absent))
    if rng.random() < 0.35:
        first = rng.choice(own)
        variant = rng.choice([first, first.rstrip(".") + ".", first.lower(), first.replace(",", "")])
        yield pair("repeat", False, variant, (first,))


def xquad_pairs(xquad: Path) -> Iterator[Pair]:
    """Per paragraph: its sentences against [paragraph, next paragraph]; absent claims from the other paragraphs."""
    articles = json.loads(xquad.read_text(encoding="utf-8"))["data"]
    for article in articles:
        title = article["title"]
        paras = [p["context"] for p in article["paragraphs"]]
        for i, para in enumerate(paras):
            rng = random.Random(f"{SEED}:{title}:{i}")
            nxt = paras[(i + 1) % len(paras)]
            others = [p for j, p in enumerate(paras) if j not in (i, (i + 1) % len(paras))]
            doc = f"xquad:{title}"
            evidence = (para, nxt)
            yield from _doc_pairs("xquad", doc, evidence, (title, title), others, rng, f"{doc}#{i}")
            qas = [qa for qa in article["paragraphs"][i]["qas"] if qa["answers"]]
            for qa in rng.sample(qas, len(qas)):
                statement = qa_statement(qa["question"], qa["answers"][0]["text"])
                if statement:
                    yield Pair(
                        f"{doc}#{i}.qa", "xquad", doc, "qa_statement", True, statement, evidence, (), (title,) * 2
                    )
                    break


def scifact_pairs(scifact: Path) -> Iterator[Pair]:
    """Per sampled abstract: its sentences against [abstract]; absent claims from the most similar other abstract."""
    wanted = set(_scifact_sample(scifact))
    corpus: dict[str, tuple[str, str]] = {}
    with (scifact / "corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec["_id"] in wanted:
                corpus[rec["_id"]] = (rec.get("title", ""), rec["text"])
    ids = sorted(corpus)
    words = {d: set(re.findall(r"[a-z]{4,}", corpus[d][1].lower())) for d in ids}
    for d in ids:
        title, text = corpus[d]
        rng = random.Random(f"{SEED}:{d}")
        near = max((o for o in ids if o != d), key=lambda o: (len(words[d] & words[o]), o))
        yield from _doc_pairs("scifact", f"scifact:{d}", (text,), (title,), [corpus[near][1]], rng, f"scifact:{d}")


def build_pairs(datasets: Path, data_dir: Path) -> list[Pair]:
    """Every pair: rule-made from ``datasets`` (xquad-en/, scifact/) plus the hand-labelled model outputs."""
    from ragwright.bench.verifier_model import model_pairs

    pairs = list(xquad_pairs(datasets / "xquad-en" / "xquad.en.json"))
    pairs += scifact_pairs(datasets / "scifact")
    pairs += model_pairs(datasets / "xquad-en" / "xquad.en.json", data_dir)
    return pairs


def content_hash(pairs: list[Pair]) -> str:
    """A digest of the pairs, recorded in results so a changed rule or dataset shows."""
    h = hashlib.sha256()
    for p in pairs:
        h.update(p.to_json().encode("utf-8"))
    return h.hexdigest()[:16]

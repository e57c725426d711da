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


# ---------------------------------------------------------------------------------------------- sentence rewrites

_SYNONYMS = {
    "began": "started",
    "begun": "started",
    "started": "began",
    "approximately": "about",
    "large": "big",
    "largest": "biggest",
    "purchased": "bought",
    "bought": "purchased",
    "constructed": "built",
    "built": "constructed",
    "received": "got",
    "located": "situated",
    "several": "a number of",
    "many": "numerous",
    "important": "significant",
    "significant": "important",
    "main": "principal",
    "famous": "well-known",
    "called": "named",
    "named": "called",
    "because": "since",
    "died": "passed away",
    "demonstrated": "showed",
    "showed": "demonstrated",
    "shows": "demonstrates",
    "revealed": "showed",
    "decreased": "reduced",
    "reduced": "decreased",
    "associated with": "linked to",
    "individuals": "people",
    "enhanced": "improved",
    "required": "needed",
    "obtained": "got",
    "additionally": "in addition",
    "although": "though",
    "however, ": "",
    "also ": "",
    "in order to": "to",
    "primarily": "mainly",
    "mainly": "mostly",
    "frequently": "often",
    "often": "frequently",
    "commonly": "usually",
    "rapidly": "quickly",
    "initially": "at first",
    "eventually": "in the end",
    "nearly": "almost",
    "almost": "nearly",
    "increase in": "rise in",
    "prior to": "before",
    "following": "after",
}
_NUMBER_WORDS = {
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_UNITS = {
    "km": "miles",
    "kilometres": "miles",
    "kilometers": "miles",
    "miles": "kilometres",
    "metres": "feet",
    "meters": "feet",
    "feet": "metres",
    "m": "ft",
    "kg": "lb",
    "kilograms": "pounds",
    "pounds": "kilograms",
    "tons": "kilograms",
    "tonnes": "kilograms",
    "mg": "g",
    "g": "mg",
    "ml": "l",
    "mm": "cm",
    "cm": "mm",
    "years": "months",
    "year": "month",
    "months": "years",
    "month": "year",
    "weeks": "days",
    "days": "weeks",
    "hours": "minutes",
    "minutes": "hours",
    "seconds": "minutes",
    "million": "billion",
    "billion": "million",
    "thousand": "million",
    "percent": "percentage points",
    "%": "-fold",
    "fold": "%",
    "°C": "°F",
    "dollars": "euros",
    "acres": "hectares",
    "hectares": "acres",
    "centuries": "decades",
    "decades": "centuries",
}
_UNIT_RE = re.compile(
    r"(?<=\d)(\s?)(" + "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True)) + r")(?![A-Za-z])"
)
_NUM_RE = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")
_AUX_RE = re.compile(r"\b(is|was|are|were|has|have|had|can|could|will|would|does|did|may|might|should|must)\b(?! not)")
_NEG_RE = re.compile(r"\b(not|never) ")
_ENTITY_RE = re.compile(r"(?<=[a-z,;:] )(?:[A-Z][\w'’.-]*[A-Za-z0-9])(?: (?:of |de |the )?[A-Z][\w'’.-]*[A-Za-z0-9])*")
_ACRONYM_RE = re.compile(r"\b(?=[A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*[A-Z0-9])[A-Za-z][A-Za-z0-9-]{1,}\b")


def paraphrase(sentence: str, rng: random.Random) -> str | None:
    """A light meaning-preserving rewrite (synonyms, number words to digits, a parenthesis dropped), or None."""
    out = sentence
    changed = 0
    for word, repl in rng.sample(sorted(_SYNONYMS.items()), len(_SYNONYMS)):
        pattern = re.compile(rf"\b{re.escape(word)}" + (r"\b" if word[-1].isalpha() else ""))
        if pattern.search(out) and changed < 2:
            out = pattern.sub(repl, out, count=1)
            changed += 1
    for word, digit in _NUMBER_WORDS.items():
        if re.search(rf"\b{word}\b", out):
            out = re.sub(rf"\b{word}\b", digit, out, count=1)
            changed += 1
    no_paren = re.sub(r" \([^()]{3,80}\)", "", out)
    if no_paren != out and not _NUM_RE.search(out[len(no_paren) :]):
        out, changed = no_paren, changed + 1
    out = re.sub(r"\s{2,}", " ", out)
    return out[0].upper() + out[1:] if changed and out != sentence else None


def swap_number(sentence: str, pool: list[str], rng: random.Random) -> str | None:
    """One number changed: to another number of the same passage half the time, else shifted."""
    nums = [m for m in _NUM_RE.finditer(sentence)]
    if not nums:
        return None
    m = rng.choice(nums)
    old = m.group(0)
    others = [n for n in pool if n != old and n.replace(",", "") != old.replace(",", "")]
    if others and rng.random() < 0.5:
        new = rng.choice(others)
    else:
        value = float(old.replace(",", ""))
        if 1000 <= value <= 2100 and "." not in old:
            new = str(int(value) + rng.choice([-3, -2, -1, 1, 2, 5, 10]))
        elif "." in old:
            decimals = len(old.split(".")[1])
            new = f"{value + rng.choice([1, 2, 3]) * 10**-decimals * rng.choice([1, 3, 7]):.{decimals}f}"
        else:
            new = str(int(value) + max(1, round(value * rng.choice([0.2, 0.5, 1.0]))))
    return sentence[: m.start()] + new + sentence[m.end() :]


def swap_unit(sentence: str, rng: random.Random) -> str | None:
    matches = list(_UNIT_RE.finditer(sentence))
    if not matches:
        return None
    m = rng.choice(matches)
    new = _UNITS[m.group(2)]
    space = "" if new in ("%", "-fold") else " "
    return sentence[: m.start()] + space + new + sentence[m.end() :]


def negate(sentence: str, rng: random.Random) -> str | None:
    """Remove a 'not'/'never', or insert 'not' after the first auxiliary verb."""
    neg = _NEG_RE.search(sentence)
    if neg:
        return sentence[: neg.start()] + sentence[neg.end() :]
    aux = _AUX_RE.search(sentence)
    if aux:
        return sentence[: aux.end()] + " not" + sentence[aux.end() :]
    return None


def entities(text: str) -> list[str]:
    """Capitalised names that are not sentence-initial, and acronyms / gene-like tokens (IL-6, TNF)."""
    found = [m.group(0) for m in _ENTITY_RE.finditer(text)]
    found += [m.group(0) for m in _ACRONYM_RE.finditer(text) if len(m.group(0)) <= 12]
    return list(dict.fromkeys(e.rstrip(".") for e in found if len(e) > 1))


def swap_entity(sentence: str, pool: list[str], rng: random.Random) -> str | None:
    """One name replaced by another name from the same document (so the evidence mentions it, elsewhere)."""
    own = entities(sentence)
    if not own:
        return None
    old = rng.choice(own)
    low = sentence.lower()
    others = [e for e in pool if e.lower() not in low and old.lower() not in e.lower() and e.lower() not in old.lower()]
    if not others:
        return None
    return sentence.replace(old, rng.choice(others), 1)


_QA = [
    (re.compile(r"^(?:What|Which|Who)\s+(is|was|are|were)\s+(the\s+.+?)\?$"), "{rest} {verb} {answer}."),
    (re.compile(r"^Who\s+(\w+ed)\s+(.+?)\?$"), "{answer} {verb} {rest}."),
    (re.compile(r"^When\s+(was|were)\s+(.+?)\s+(\w+ed)\?$"), "{rest} {verb} {tail} in {answer}."),
]
_BAD_END = ("called", "named", "known as", "for", "in", "of", "to", "by", "with", "from", "on", "at", "as")


def qa_statement(question: str, answer: str) -> str | None:
    """A question and its gold answer as one declarative sentence, the way models often answer."""
    q = question.strip()
    for pattern, template in _QA:
        m = pattern.match(q)
        if not m:
            continue
        if "{tail}" in template:
            if not re.match(r"^(?:\d{3,4}|(?:in |on )?[A-Z][a-z]+ \d)", answer):
                return None
            verb, rest, tail = m.groups()
            out = template.format(rest=rest, verb=verb, tail=tail, answer=answer)
        else:
            verb, rest = m.groups()
            if rest.endswith(_BAD_END):
                return None
            out = template.format(rest=rest, verb=verb, answer=answer)
        return out[0].upper() + out[1:]
    return None


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
    pool_numbers = [m.group(0) for m in _NUM_RE.finditer(" ".join(evidence))]
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

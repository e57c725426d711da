"""The research report: sections of claims, each checked against the passages it cites, and what was not found.

The model's report (JSON) is parsed leniently, then every claim goes through the check ``ask`` uses for its
sentences (:func:`ragwright.answering.verify.verify_offline`: content-word coverage, embedding similarity, and the
number, unit, name and negation checks), against the sentences of the passages it cites:

- ``supported``: a cited passage supports it; it keeps those citations;
- ``recited``: no cited passage does, but another passage of the run does; the citation is corrected to that one
  (as ``ask`` cites the evidence that supports a sentence, not the number the model wrote);
- ``unsupported``: no passage supports it; it is taken out of its section and listed under ``unsupported``.

Citation precision (:attr:`ResearchReport.citation_precision`) is the share of claims supported *as cited*.

Example::

    report = check_report(raw_json, passages, embedder)
    report.sections[0].claims[0].status    # ClaimStatus.SUPPORTED
    print(report.to_markdown())
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ragwright.agents.evidence import Passage, passage_evidence
from ragwright.answering.verify import verify_offline
from ragwright.extract.extractor import parse_reply
from ragwright.models.base import Embedder

__all__ = ["Claim", "ClaimStatus", "ResearchReport", "Section", "check_report"]


class ClaimStatus(StrEnum):
    """What the citation check said of a claim."""

    SUPPORTED = "supported"
    RECITED = "recited"
    UNSUPPORTED = "unsupported"


@dataclass
class Claim:
    """One sentence of the report and the passages (by number) that support it."""

    text: str
    cited: list[int]
    """The passages the model cited."""
    citations: list[int] = field(default_factory=list)
    """The passages that support it after the check (empty when unsupported)."""
    status: ClaimStatus = ClaimStatus.UNSUPPORTED
    failure: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "cited": self.cited,
            "citations": self.citations,
            "status": self.status.value,
            "failure": self.failure,
        }


@dataclass
class Section:
    """A heading and its claims."""

    heading: str
    claims: list[Claim] = field(default_factory=list)


@dataclass
class ResearchReport:
    """The checked report: sections of supported claims, the passages, what was not found, what was dropped."""

    question: str
    title: str
    sections: list[Section]
    passages: list[Passage]
    not_found: list[str] = field(default_factory=list)
    unsupported: list[Claim] = field(default_factory=list)
    malformed: bool = False
    """The model's report was not the JSON asked for (its text, if any, is one unsupported claim)."""

    @property
    def claims(self) -> list[Claim]:
        return [c for s in self.sections for c in s.claims] + self.unsupported

    @property
    def citation_precision(self) -> float:
        """Claims supported by a passage they cite, over all claims (0 when there is none)."""
        claims = self.claims
        return sum(c.status is ClaimStatus.SUPPORTED for c in claims) / len(claims) if claims else 0.0

    def text(self) -> str:
        """The kept claims as plain text (what coverage of a reference answer is measured on)."""
        return " ".join(c.text for s in self.sections for c in s.claims)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "title": self.title,
            "sections": [{"heading": s.heading, "claims": [c.to_dict() for c in s.claims]} for s in self.sections],
            "not_found": self.not_found,
            "unsupported": [c.to_dict() for c in self.unsupported],
            "passages": [p.to_dict() for p in self.passages],
            "citation_precision": round(self.citation_precision, 4),
            "malformed": self.malformed,
        }

    def to_markdown(self) -> str:
        lines = [f"# {self.title}", ""]
        used: list[int] = []
        for s in self.sections:
            lines += [f"## {s.heading}", ""]
            for c in s.claims:
                lines.append(f"- {c.text} " + "".join(f"[{n}]" for n in c.citations))
                used += [n for n in c.citations if n not in used]
            lines.append("")
        lines += ["## Could not find", ""]
        lines += [f"- {item}" for item in self.not_found] or ["- (nothing: the passages answer every part)"]
        if self.unsupported:
            lines += ["", "## Dropped (no passage supports them)", ""]
            lines += [f"- {c.text}" for c in self.unsupported]
        lines += ["", "## Sources", ""]
        by_n = {p.n: p for p in self.passages}
        for n in sorted(used):
            p = by_n[n]
            where = " › ".join(x for x in (p.source, p.heading) if x) + (f", p. {p.page}" if p.page else "")
            lines.append(f"[{n}] {where}: {' '.join(p.text.split())[:160]}")
        return "\n".join(lines) + "\n"


def _check(claim: Claim, passages: Sequence[Passage], embedder: Embedder | None) -> None:
    cited = [p for p in passages if p.n in claim.cited]
    texts, owner = passage_evidence(cited)
    verdict = verify_offline([claim.text], texts, embedder)[0] if texts else None
    if verdict is not None and verdict.supported and verdict.evidence is not None:
        claim.status, claim.citations = ClaimStatus.SUPPORTED, [owner[verdict.evidence]]
        claim.citations += [n for n in claim.cited if n != owner[verdict.evidence] and n in {p.n for p in cited}]
        return
    texts, owner = passage_evidence(passages)
    again = verify_offline([claim.text], texts, embedder)[0] if texts else None
    if again is not None and again.supported and again.evidence is not None:
        claim.status, claim.citations = ClaimStatus.RECITED, [owner[again.evidence]]
        return
    claim.status = ClaimStatus.UNSUPPORTED
    last = verdict or again
    claim.failure = last.failure.value if last is not None and last.failure is not None else "no passage"


def _claims(raw: Any) -> list[Claim]:
    out: list[Claim] = []
    for c in raw if isinstance(raw, list) else []:
        if isinstance(c, str) and c.strip():
            out.append(Claim(c.strip(), []))
        elif isinstance(c, dict) and isinstance(c.get("text"), str) and c["text"].strip():
            cite = c.get("cite", c.get("citations", []))
            cite = [cite] if isinstance(cite, int) else cite
            nums = [n for n in cite if isinstance(n, int) and not isinstance(n, bool)] if isinstance(cite, list) else []
            out.append(Claim(c["text"].strip(), nums))
    return out


def check_report(question: str, reply: str, passages: Sequence[Passage], embedder: Embedder | None) -> ResearchReport:
    """The model's JSON ``reply`` as a :class:`ResearchReport` with every claim checked (see the module docstring)."""
    data, _ = parse_reply(reply)
    if data is None:
        report = ResearchReport(question, question, [], list(passages), [question], malformed=True)
        if reply.strip():
            report.unsupported.append(Claim(" ".join(reply.split())[:500], [], failure="not JSON"))
        return report
    sections: list[Section] = []
    raw_sections = data.get("sections")
    for raw in raw_sections if isinstance(raw_sections, list) else []:
        if isinstance(raw, dict):
            sections.append(Section(str(raw.get("heading") or "Findings"), _claims(raw.get("claims"))))
    if isinstance(data.get("claims"), list):  # a flat list of claims is one section
        sections.append(Section("Findings", _claims(data["claims"])))
    raw_missing = data.get("not_found")
    not_found = [str(x) for x in raw_missing if str(x).strip()] if isinstance(raw_missing, list) else []
    title = str(data.get("title") or question)
    report = ResearchReport(question, title, [], list(passages), not_found)
    for section in sections:
        kept = Section(section.heading)
        for claim in section.claims:
            _check(claim, passages, embedder)
            (report.unsupported if claim.status is ClaimStatus.UNSUPPORTED else kept.claims).append(claim)
        if kept.claims:
            report.sections.append(kept)
    return report

"""The injection suite: every case of ``cases.py`` against the extractive answerer and a model that obeys injections.

One index holds every case as its own tenant (the language's handbook plus the injected document), embedded with the
real MiniLM encoder. The obeying model is a scripted :class:`~ragwright.testing.FakeChatModel` behind the real
gateway and the real :class:`~ragwright.answering.service.Asker`: whenever the injected payload is in its prompt it
writes the payload as its answer (with a citation marker), followed by the handbook's sentence if it saw it. The
suite's claim: in 0 cases does the injected text become the answer (no payload marker in the answer text, no citation
of the injected document).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ragwright.answering.injection import detect
from ragwright.answering.service import Asker
from ragwright.answering.types import Answer
from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.gateway.build import Gateway, SyncGateway
from ragwright.gateway.types import ChatRequest
from ragwright.store.base import DocumentInfo
from ragwright.testing import FakeChatModel
from tests.injection.cases import CASES, EXPECTED, HANDBOOKS, Case
from tests.injection.fixtures import ZWSP, write_case

pytestmark = pytest.mark.slow
BY_ID = {c.id: c for c in CASES}
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


@dataclass
class Suite:
    app: Ragwright
    obeying: Asker
    model: FakeChatModel


def _obey(request: ChatRequest) -> str:
    """Write the injected payload whenever it is in the prompt; else answer from the handbook if it is there."""
    case = BY_ID[request.context.tenant or ""]
    prompt = _INVISIBLE.sub("", request.prompt_text)
    sentences = re.split(r"(?<=[.!?])\s+", HANDBOOKS[case.lang])
    legit = next((s.splitlines()[-1] for s in sentences if EXPECTED[case.question] in s), "")
    parts = []
    if case.marker in prompt:
        payload = case.injection.split(":", 1)[-1].strip() if ":" in case.injection else case.injection
        parts.append(f"{_INVISIBLE.sub('', payload)} [1]")
    if legit and legit in prompt:
        parts.append(f"{legit} [2]")
    return " ".join(parts) or "NOT IN DOCUMENTS"


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    root = tmp_path_factory.mktemp("injection")
    settings = load_settings(
        data_dir=root / "index",
        gateway={"chain": ["fake:obey"], "ledger": False, "retry": {"max_attempts": 1}},
    )
    app = Ragwright(settings)
    for case in CASES:
        docs = root / "docs" / case.id
        (docs / "handbook.md").parent.mkdir(parents=True, exist_ok=True)
        (docs / "handbook.md").write_text(HANDBOOKS[case.lang], encoding="utf-8")
        write_case(case, docs)
        report = app.ingest([docs], tenant=case.id)
        assert not report.failures, report.failures
    model = FakeChatModel(_obey, name="fake:obey")
    gateway = SyncGateway(Gateway(settings, provider_factory=lambda spec: model))
    yield Suite(app, Asker(app.retriever, app.embedder, settings.answer, chat=gateway.chat), model)
    gateway.close()
    app.close()


def _injected(answer: Answer, case: Case) -> list[str]:
    """Why the injection became (part of) the answer; empty when it did not."""
    text = _INVISIBLE.sub("", answer.text).lower()
    why = []
    if case.marker.lower() in text:
        why.append(f"payload {case.marker!r} in the answer")
    why += [f"cites the injected {c.doc_path}" for c in answer.citations if _is_notes(c.doc_path)]
    return why


def test_cases_are_varied_enough() -> None:
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)
    assert {"md", "html", "pdf", "docx"} <= {c.fmt for c in CASES}
    assert {"en", "de", "fr", "es"} <= {c.lang for c in CASES}
    assert {"direct", "hidden", "stuffed"} == {c.kind for c in CASES}
    assert sum(not c.matchable for c in CASES) * 3 >= len(CASES)  # at least a third beyond every ingest pattern


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_flagger_matches_exactly_the_matchable_cases(case: Case) -> None:
    assert (detect(case.injection) is not None) is case.matchable, detect(case.injection)
    if case.stuffing:
        assert detect(case.stuffing) is None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_injected_text_never_becomes_the_answer(case: Case, suite: Suite) -> None:
    extractive, generated, _ = _run(suite, case)
    assert _injected(extractive, case) == [], extractive.text
    assert _injected(generated, case) == [], generated.text


def _run(suite: Suite, case: Case) -> tuple[Answer, Answer, bool]:
    if case.id not in _RESULTS:
        extractive = suite.app.ask(case.question, tenant=case.id, generator="extractive")
        generated = suite.obeying.ask(case.id, case.question, generator="gateway")
        _RESULTS[case.id] = (extractive, generated, _payload_reached_model(suite, case))
    return _RESULTS[case.id]


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "hidden"], ids=lambda c: c.id)
def test_hidden_text_is_dropped_at_ingest(case: Case, suite: Suite) -> None:
    """The loaders drop what a reader cannot see (issue 11 item 1); the answerers are safe even when they do not."""
    texts = [c.chunk.text for c in _chunks(suite, case)]
    if case.hiding == "zero-width":
        assert not any(ZWSP in t for t in texts)
    else:
        assert not any(case.marker in t for t in texts)


def test_flagged_passages_are_visible_on_documents_and_hits(suite: Suite) -> None:
    for case in CASES:
        if case.matchable and case.kind != "hidden":
            info = _notes_info(suite, case)
            assert info is not None and info.flagged_chunks >= 1, case.id
            hits = suite.app.search(case.question, tenant=case.id, k=5).hits
            notes = [h for h in hits if _is_notes(h.chunk.doc_path)]
            assert notes and all(h.chunk.injection is not None for h in notes), case.id
        if not case.matchable:
            info = _notes_info(suite, case)
            assert info is not None and info.flagged_chunks == 0, case.id


_RESULTS: dict[str, tuple[Answer, Answer, bool]] = {}


def _chunks(suite: Suite, case: Case) -> list[object]:
    store = suite.app.store
    hits = store.keyword_search(case.id, case.question + " " + case.marker, 50)
    return [c for c in store.get(case.id, [h.chunk_id for h in hits]) if _is_notes(c.doc_path)]


def _payload_reached_model(suite: Suite, case: Case) -> bool:
    requests = [r for r in suite.model.requests if r.context.tenant == case.id]
    return any(case.marker in _INVISIBLE.sub("", r.prompt_text) for r in requests)


def test_zz_summary(suite: Suite) -> None:
    """Print the table of the final report (cases another xdist worker ran are run again here)."""
    print("\nid   fmt  lang kind     pattern  extractive                generated (obeying model) payload->model")
    for case in CASES:
        ext, gen, reached = _run(suite, case)
        print(
            f"{case.id:4s} {case.fmt:4s} {case.lang:4s} {case.kind:8s} {'yes' if case.matchable else 'no':8s} "
            f"{_verdict(ext, case):25s} {_verdict(gen, case):25s} {'yes' if reached else 'no'}"
        )
    injected = sum(bool(_injected(e, BY_ID[i]) or _injected(g, BY_ID[i])) for i, (e, g, _) in _RESULTS.items())
    print(f"{len(_RESULTS)} cases, {injected} where injected text became the answer")
    assert injected == 0


def _verdict(answer: Answer, case: Case) -> str:
    if _injected(answer, case):
        return "INJECTED"
    if answer.abstained:
        return "safe (abstained)"
    return "safe, correct" if EXPECTED[case.question].lower() in answer.text.lower() else "safe, other"


def _is_notes(doc_path: str) -> bool:
    return Path(doc_path).name.startswith("notes.")


def _notes_info(suite: Suite, case: Case) -> DocumentInfo | None:
    return next((d for d in suite.app.store.documents(case.id) if _is_notes(d.doc_id)), None)

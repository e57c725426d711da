"""chunk_document: budgets, exact offsets, structure, overlap, ids; with a word counter and the real tokenizer."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragwright.documents.chunker import chunk_document, make_context
from ragwright.documents.markdown import parse_markdown
from ragwright.documents.model import Chunk, Document, Section
from ragwright.documents.text import TextBuilder
from ragwright.models.base import TokenCounter


class WordCounter:
    def count_tokens(self, text: str) -> int:
        return len(text.split())


class SpecialTokenCounter(WordCounter):
    """Adds [CLS]/[SEP], as a tokenizer called with add_special_tokens=True would."""

    def count_tokens(self, text: str) -> int:
        return super().count_tokens(text) + 2


def md_doc(text: str, title: str = "Guide", doc_id: str = "guide.md") -> Document:
    parsed = parse_markdown(text)
    return Document(doc_id, doc_id, "md", title, parsed.text, parsed.sections, "hash", source_map=parsed.source_map)


def built_doc(blocks: list[tuple[str, tuple[str, ...], int | None]], title: str = "Manual") -> Document:
    builder = TextBuilder()
    for block, path, page in blocks:
        builder.add(block, path, page)
    text, sections = builder.build()
    return Document("m.pdf", "m.pdf", "pdf", title, text, sections, "hash")


def sentences(n: int, words: int = 8, tag: str = "s") -> str:
    return " ".join(" ".join(f"{tag}{i}w{j}" for j in range(words)) + "." for i in range(n))


def check_invariants(doc: Document, chunks: list[Chunk], counter: TokenCounter, max_tokens: int) -> None:
    limit = max_tokens - 2 + counter.count_tokens("")
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert c.text == doc.text[c.char_start : c.char_end]
        assert c.text and c.text == c.text.strip()
        assert c.n_tokens == counter.count_tokens(c.indexed_text) <= limit
        assert c.id == Chunk.make_id(doc.doc_id, c.ordinal, c.indexed_text)
    starts = [c.char_start for c in chunks]
    assert starts == sorted(starts)


def covered(chunks: list[Chunk], length: int) -> list[bool]:
    mask = [False] * length
    for c in chunks:
        mask[c.char_start : c.char_end] = [True] * (c.char_end - c.char_start)
    return mask


def assert_covers_sections(doc: Document, chunks: list[Chunk]) -> None:
    mask = covered(chunks, len(doc.text))
    for s in doc.sections:
        missing = [i for i in range(s.start, s.end) if not doc.text[i].isspace() and not mask[i]]
        assert not missing, f"uncovered text: {doc.text[missing[0] : missing[0] + 30]!r}"


# -- context -----------------------------------------------------------------------------------------------------


def test_context_joins_title_and_headings_without_repeating_the_title() -> None:
    assert make_context("Guide", ("Guide", "Install", "Linux")) == "Guide › Install › Linux"
    assert make_context("Guide", ("Install",)) == "Guide › Install"
    assert make_context("Vault — Troubleshooting", ("Troubleshooting", "Wi-Fi")) == "Vault — Troubleshooting › Wi-Fi"
    assert make_context("", ()) == ""


# -- budget, offsets, structure ----------------------------------------------------------------------------------


@pytest.mark.parametrize("max_tokens", [16, 40, 128, 256])
def test_budget_and_exact_offsets(words: TokenCounter, max_tokens: int) -> None:
    text = f"# Guide\n{sentences(3)}\n\n## Install\n{sentences(40)}\n\n{sentences(5)}\n### Linux\n{sentences(30, 3)}"
    doc = md_doc(text)
    chunks = chunk_document(doc, words, max_tokens=max_tokens, overlap_tokens=8)
    check_invariants(doc, chunks, words, max_tokens)
    assert_covers_sections(doc, chunks)


def test_no_chunk_spans_two_sections(words: TokenCounter) -> None:
    text = f"# A\n{sentences(6)}\n# B\n{sentences(6)}\n## B1\n{sentences(6)}"
    doc = md_doc(text, title="Doc")
    chunks = chunk_document(doc, words, max_tokens=64, overlap_tokens=0)
    for c in chunks:
        inside = [s for s in doc.sections if s.start <= c.char_start and c.char_end <= s.end]
        assert len(inside) == 1 and inside[0].heading_path == c.heading_path
    assert {c.heading_path for c in chunks} == {("A",), ("B",), ("B", "B1")}
    assert chunks[0].context == "Doc › A" and chunks[-1].context == "Doc › B › B1"


def test_tiny_sections_merge_under_the_same_top_level_heading(words: TokenCounter) -> None:
    text = "# Guide\n## Install\nSee below.\n### Linux\nRun apt.\n### Mac\nRun brew.\n## Warranty\nFive years."
    doc = md_doc(text)  # title "Guide" equals the H1, so "top level" means the H2s
    chunks = chunk_document(doc, words, max_tokens=128)
    assert [(c.heading_path, c.text) for c in chunks] == [
        (("Guide", "Install"), "See below.\n\nLinux\n\nRun apt.\n\nMac\n\nRun brew."),
        (("Guide", "Warranty"), "Five years."),
    ]
    assert chunks[0].context == "Guide › Install"
    check_invariants(doc, chunks, words, 128)


def test_headings_shared_by_every_section_are_not_the_top_level(words: TokenCounter) -> None:
    text = "# Pricing\n## Tiers\n### Home\nHome costs 349.\n### Pro\nPro costs 899.\n## Support\nEmail is free."
    doc = md_doc(text, title="Pricing and Plans | Example Co")  # an HTML <title> that differs from the H1
    chunks = chunk_document(doc, words, max_tokens=128)
    assert [c.heading_path for c in chunks] == [("Pricing", "Tiers", "Home"), ("Pricing", "Support")]
    assert chunks[0].text == "Home costs 349.\n\nPro\n\nPro costs 899."


def test_tiny_sections_on_different_pages_do_not_merge(words: TokenCounter) -> None:
    doc = built_doc([("Page one.", (), 1), ("Page two.", (), 2), ("More on two.", (), 2)])
    chunks = chunk_document(doc, words, max_tokens=64)
    assert [(c.page, c.text) for c in chunks] == [(1, "Page one."), (2, "Page two.\n\nMore on two.")]
    assert all(c.context == "Manual" for c in chunks)


def test_pages_and_headings_are_carried(words: TokenCounter) -> None:
    doc = built_doc([(sentences(20), ("Specs",), 1), (sentences(20, tag="p"), ("Specs", "Power"), 2)])
    chunks = chunk_document(doc, words, max_tokens=48)
    assert {(c.page, c.heading_path) for c in chunks} == {(1, ("Specs",)), (2, ("Specs", "Power"))}
    assert all(("p0w0" in c.text) <= (c.page == 2) for c in chunks)
    check_invariants(doc, chunks, words, 48)


def test_prefers_paragraph_boundaries(words: TokenCounter) -> None:
    paragraphs = [sentences(3, tag=f"p{k}_") for k in range(6)]  # 24 words each
    doc = md_doc("\n\n".join(paragraphs), title="")
    chunks = chunk_document(doc, words, max_tokens=64, overlap_tokens=0)
    assert all(c.text in {"\n\n".join(paragraphs[i : i + 2]) for i in range(0, 6, 2)} for c in chunks), [
        c.text[:20] for c in chunks
    ]


# -- overlap -----------------------------------------------------------------------------------------------------


def test_overlap_repeats_trailing_whole_sentences(words: TokenCounter) -> None:
    doc = md_doc(f"# Guide\n{sentences(40)}")
    chunks = chunk_document(doc, words, max_tokens=64, overlap_tokens=20)
    assert len(chunks) > 3
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert nxt.char_start < prev.char_end
        shared = doc.text[nxt.char_start : prev.char_end]
        assert re.fullmatch(r"(s\d+w0( s\d+w\d+)*\.\s*)+", shared), shared
        assert 0 < words.count_tokens(shared) <= 20
    check_invariants(doc, chunks, words, 64)


def test_overlap_zero_disables_it(words: TokenCounter) -> None:
    doc = md_doc(f"# Guide\n{sentences(40)}")
    chunks = chunk_document(doc, words, max_tokens=64, overlap_tokens=0)
    assert all(nxt.char_start >= prev.char_end for prev, nxt in zip(chunks, chunks[1:], strict=False))


def test_ids_are_deterministic_and_depend_on_the_document(words: TokenCounter) -> None:
    text = f"# Guide\n{sentences(30)}"
    first = [c.id for c in chunk_document(md_doc(text), words, max_tokens=64)]
    assert first == [c.id for c in chunk_document(md_doc(text), words, max_tokens=64)]
    assert len(set(first)) == len(first)
    other = [c.id for c in chunk_document(md_doc(text, doc_id="other.md"), words, max_tokens=64)]
    assert not set(first) & set(other)


# -- counters ----------------------------------------------------------------------------------------------------


def test_counter_with_special_tokens_uses_the_full_budget() -> None:
    counter = SpecialTokenCounter()
    doc = md_doc(f"# Guide\n{sentences(30)}")
    chunks = chunk_document(doc, counter, max_tokens=64, overlap_tokens=0)
    check_invariants(doc, chunks, counter, 64)
    assert max(c.n_tokens for c in chunks) > 56  # not wasting the 2 reserved tokens twice


class CharCounter:
    """Non-additive on purpose: a token per started 5 characters of the whole string."""

    def count_tokens(self, text: str) -> int:
        return -(-len(text) // 5)


def test_budget_holds_for_a_non_additive_counter() -> None:
    doc = md_doc(f"# Guide\n{sentences(30)}\n\n{'x' * 900}")
    chunks = chunk_document(doc, CharCounter(), max_tokens=40, overlap_tokens=6)
    check_invariants(doc, chunks, CharCounter(), 40)
    assert_covers_sections(doc, chunks)


def test_long_word_is_cut_by_characters(words: TokenCounter, minilm: TokenCounter) -> None:
    blob = base64.b64encode(bytes(range(256)) * 40).decode()  # 13,656 characters, no whitespace
    doc = md_doc(f"# Guide\nKey follows.\n\n{blob}\n\nEnd.")
    for counter in (words, minilm):
        chunks = chunk_document(doc, counter, max_tokens=64)
        check_invariants(doc, chunks, counter, 64)
        assert_covers_sections(doc, chunks)
        assert len(chunks) > 10 and max(len(c.text) for c in chunks) <= 64 * 12


def test_real_tokenizer_budget(minilm: TokenCounter) -> None:
    body = "\n\n".join(
        f"## Part {k}\nThe Quillfin Vault Q{k} uses AES-256-GCM; restores run at {k * 110} MB/s (sustained). " * 9
        for k in range(1, 6)
    )
    doc = md_doc(f"# Guide\nIntro.\n{body}\n```\nqctl backup --now --target=s3://bucket/path\n```")
    for max_tokens in (32, 128, 256):
        chunks = chunk_document(doc, minilm, max_tokens=max_tokens, overlap_tokens=16)
        check_invariants(doc, chunks, minilm, max_tokens)
        assert_covers_sections(doc, chunks)


def test_counting_work_is_linear() -> None:
    class Tally(WordCounter):
        chars = 0

        def count_tokens(self, text: str) -> int:
            Tally.chars += len(text)
            return super().count_tokens(text)

    text = "\n\n".join(f"## S{k}\n{sentences(60, tag=f'k{k}_')}" for k in range(30))
    doc = md_doc(f"# Guide\n{text}")
    chunk_document(doc, Tally(), max_tokens=128, overlap_tokens=16)
    assert Tally.chars < 6 * len(doc.text)


def test_rejects_silly_parameters(words: TokenCounter) -> None:
    doc = md_doc("text")
    with pytest.raises(ValueError):
        chunk_document(doc, words, max_tokens=2)
    with pytest.raises(ValueError):
        chunk_document(doc, words, overlap_tokens=-1)


def test_overlapping_or_empty_sections_are_tolerated(words: TokenCounter) -> None:
    text = "alpha beta. gamma delta."
    doc = Document("d", "d", "txt", "", text, [Section(0, 11), Section(5, 24), Section(3, 3)], "h")
    chunks = chunk_document(doc, words, max_tokens=16)
    check_invariants(doc, chunks, words, 16)
    assert_covers_sections(doc, chunks)


# -- property ----------------------------------------------------------------------------------------------------

_WORD = st.text(alphabet="abcdefgh#-=`.!?", min_size=1, max_size=14)
_LINE = st.one_of(
    st.lists(_WORD, min_size=1, max_size=25).map(" ".join),
    st.builds(lambda n, w: "#" * n + " " + w, st.integers(1, 4), _WORD),
    st.sampled_from(["", "", "---", "===", "```", "  ", "- item one. item two!", "x" * 70]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(_LINE, min_size=1, max_size=60),
    max_tokens=st.integers(6, 80),
    overlap=st.integers(0, 12),
    title=st.sampled_from(["", "Guide", "A long title with several words in it"]),
)
def test_property_exact_slices_in_budget_in_order_and_complete(
    lines: list[str], max_tokens: int, overlap: int, title: str
) -> None:
    counter = WordCounter()
    doc = md_doc("\n".join(lines), title=title)
    chunks = chunk_document(doc, counter, max_tokens=max_tokens, overlap_tokens=overlap)
    check_invariants(doc, chunks, counter, max_tokens)
    assert_covers_sections(doc, chunks)
    ends = [c.char_end for c in chunks]
    assert ends == sorted(ends)


def test_chunks_carry_their_source_spans(words: WordCounter) -> None:
    source = "# Guide\nIntro \\*one\\*.\n\n## Install\n" + " ".join(f"word{i}." for i in range(300))
    doc = md_doc(source)
    chunks = chunk_document(doc, words, max_tokens=64, overlap_tokens=0)
    assert len(chunks) > 3
    for chunk in chunks[1:]:
        (span,) = chunk.source_spans
        assert span.page is None and source[span.start : span.end] == chunk.text
    assert source[chunks[0].source_spans[0].start : chunks[0].source_spans[-1].end] == "Intro \\*one\\*."
    no_map = Document("d", "d", "txt", "T", "plain text", [Section(0, 10)], "hash")
    assert chunk_document(no_map, words)[0].source_spans == ()

"""Markdown sectioning: ATX and setext headings, fenced code, front matter."""

from __future__ import annotations

import pytest

from ragwright.documents.markdown import load_markdown, parse_markdown, split_front_matter


def sections(text: str) -> list[tuple[tuple[str, ...], str]]:
    parsed = parse_markdown(text)
    return [(s.heading_path, parsed.text[s.start : s.end]) for s in parsed.sections]


def test_nested_atx_headings() -> None:
    text = (
        "Preamble.\n# Guide\nIntro.\n## Install\n### Linux\napt install q\n### macOS ###\nbrew install q\n## Use\nRun."
    )
    assert sections(text) == [
        ((), "Preamble."),
        (("Guide",), "Intro."),
        (("Guide", "Install", "Linux"), "apt install q"),
        (("Guide", "Install", "macOS"), "brew install q"),
        (("Guide", "Use"), "Run."),
    ]
    assert parse_markdown(text).title == "Guide"


def test_setext_headings() -> None:
    text = "Manual\n======\n\nIntro.\n\nSetup\n-----\nStep one.\n\n---\n\nAfter a rule."
    assert sections(text) == [
        (("Manual",), "Intro."),
        (("Manual", "Setup"), "Step one.\n\n---\n\nAfter a rule."),
    ]


def test_setext_right_after_a_fence() -> None:
    text = "# A\n```\ncode\n```\nNext\n----\nbody"
    assert [p for p, _ in sections(text)] == [("A",), ("A", "Next")]


def test_hash_inside_fenced_code_is_not_a_heading() -> None:
    text = "# Shell\n```bash\n# install it\nq --install\n```\n~~~\n## still code\n~~~\nAfter."
    result = sections(text)
    assert len(result) == 1
    path, body = result[0]
    assert path == ("Shell",) and "# install it" in body and "## still code" in body and body.endswith("After.")


def test_unclosed_fence_swallows_the_rest() -> None:
    assert [p for p, _ in sections("# A\n```\n# not a heading\n")] == [("A",)]


def test_hashtag_without_space_is_text() -> None:
    assert sections("#hashtag and text") == [((), "#hashtag and text")]


def test_headings_only_document_is_kept_as_text() -> None:
    assert sections("# Only\n## Headings\n") == [((), "Only\n\nHeadings")]


@pytest.mark.parametrize(
    ("front", "tags"),
    [
        ("tags: [alpha, 'beta']", ("alpha", "beta")),
        ("tags: alpha, beta", ("alpha", "beta")),
        ("tags:\n  - alpha\n  - beta\n  - alpha", ("alpha", "beta")),
        ("author: me", ()),
    ],
)
def test_front_matter_tags(front: str, tags: tuple[str, ...]) -> None:
    extracted = load_markdown(f"---\n{front}\n---\n# Title\nBody.\n".encode(), "x.md")
    assert extracted.tags == tags
    assert extracted.title == "Title"
    assert extracted.text == "Title\n\nBody."


def test_unterminated_front_matter_is_text() -> None:
    body, fields = split_front_matter("---\ntags: [a]\nno end")
    assert fields == {} and body.startswith("---")


def test_front_matter_title_wins() -> None:
    extracted = load_markdown(b'---\ntitle: "Real Title"\n---\n# Heading\nx', "x.md")
    assert extracted.title == "Real Title"

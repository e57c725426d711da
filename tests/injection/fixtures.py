"""Real files for each injection case, generated at test time: Markdown, text, HTML, PDF (fpdf2), DOCX (python-docx)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.injection.cases import Case

ZWSP = "\u200b"

TITLES = {
    "en": "Aurora owner notes",
    "de": "Notizen der Aurora-Besitzer",
    "fr": "Notes des propriétaires Aurora",
    "es": "Notas de propietarios de Aurora",
}
FILLER = {
    "en": (
        "These notes were collected from the Aurora owners forum.",
        "Owners discuss installation, noise and the monitoring portal.",
    ),
    "de": (
        "Diese Notizen stammen aus dem Forum der Aurora-Besitzer.",
        "Besitzer sprechen über Installation, Geräusch und das Portal.",
    ),
    "fr": (
        "Ces notes viennent du forum des propriétaires Aurora.",
        "Les propriétaires parlent d'installation, de bruit et du portail.",
    ),
    "es": (
        "Estas notas provienen del foro de propietarios de Aurora.",
        "Los propietarios hablan de instalación, ruido y del portal.",
    ),
}


def zero_width(text: str) -> str:
    """The text with a zero-width space inside every word: invisible, but it defeats naive word matching."""
    return " ".join(w[:1] + ZWSP + w[1:] if len(w) > 1 else w for w in text.split(" "))


def write_case(case: Case, root: Path) -> Path:
    """The injected document of ``case`` in its format under ``root``; returns its path."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"notes.{case.fmt}"
    {"md": _markdown, "txt": _markdown, "html": _html, "pdf": _pdf, "docx": _docx}[case.fmt](case, path)
    return path


def _paragraphs(case: Case) -> list[str]:
    first, last = FILLER[case.lang]
    return [first, *([case.stuffing] if case.stuffing else []), case.injection, last]


def _markdown(case: Case, path: Path) -> None:
    paras = _paragraphs(case)
    if case.hiding == "zero-width":
        paras = [zero_width(p) if p == case.injection else p for p in paras]
    head = f"# {TITLES[case.lang]}\n\n" if case.fmt == "md" else f"{TITLES[case.lang]}\n\n"
    path.write_text(head + "\n\n".join(paras) + "\n", encoding="utf-8")


def _html(case: Case, path: Path) -> None:
    def render(p: str) -> str:
        body = p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")
        if p != case.injection or not case.hiding:
            return f"<p>{body}</p>"
        return {
            "display-none": f'<div style="display:none">{body}</div>',
            "comment": f"<!-- {p} -->",
            "hidden-attr": f"<p hidden>{body}</p>",
            "zero-width": f"<p>{zero_width(body)}</p>",
        }[case.hiding]

    title = TITLES[case.lang]
    body = "\n".join(render(p) for p in _paragraphs(case))
    path.write_text(
        f'<!doctype html>\n<html lang="{case.lang}"><head><meta charset="utf-8"><title>{title}</title></head>\n'
        f"<body><main><h1>{title}</h1>\n{body}\n</main></body></html>\n",
        encoding="utf-8",
    )


def _pdf(case: Case, path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(datetime(2025, 1, 1, tzinfo=UTC))
    pdf.set_title(TITLES[case.lang])
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.multi_cell(0, 9, TITLES[case.lang], new_x="LMARGIN", new_y="NEXT")
    for p in _paragraphs(case):
        size, colour = 11, (0, 0, 0)
        if p == case.injection and case.hiding == "white":
            colour = (255, 255, 255)
        elif p == case.injection and case.hiding == "tiny":
            size = 1
        pdf.set_font("Helvetica", size=size)
        pdf.set_text_color(*colour)
        pdf.multi_cell(0, max(size * 0.55, 1), p, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    path.write_bytes(bytes(pdf.output()))


def _docx(case: Case, path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading(TITLES[case.lang], level=1)
    for p in _paragraphs(case):
        document.add_paragraph(p)
    document.save(str(path))

"""Write the two sample PDFs of examples/sample-docs/ (the fictional Quillfin Vault backup appliance).

Run from the repository root (needs the dev extra, for fpdf2)::

    python scripts/make_sample_pdfs.py

The output is byte-for-byte reproducible for a given fpdf2 version: the creation date and producer are fixed, and
the core Helvetica font is not embedded. Each fact is one sentence on a known page, so the demo questions can be
answered (and cited) by page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

OUT = Path(__file__).resolve().parent.parent / "examples" / "sample-docs"
CREATED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

Page = tuple[str, list[str]]  # heading, paragraphs

DATASHEET: list[Page] = [
    (
        "Quillfin Vault Datasheet",
        [
            "The Quillfin Vault is a self-hostable backup appliance made by Marrowind Systems. It stores versioned, "
            "encrypted backups of computers, servers and cloud buckets on disks that stay on your premises.",
            "The Quillfin Vault comes in three models: the Q2, the Q4 and the Q8.",
            "The Q2 has two drive bays and supports up to 48 TB of raw capacity.",
            "The Q4 has four drive bays and supports up to 96 TB of raw capacity.",
            "The Q8 has eight drive bays and supports up to 192 TB of raw capacity.",
            "All models accept 3.5-inch and 2.5-inch SATA disks, and disks can be replaced without tools.",
        ],
    ),
    (
        "Hardware specifications",
        [
            "The Q2 uses a 4-core Marrowind M3 processor at 2.0 GHz with 8 GB of ECC memory.",
            "The Q4 uses a 4-core Marrowind M3 processor at 2.4 GHz with 16 GB of ECC memory.",
            "The Q8 uses an 8-core Marrowind M5 processor at 2.6 GHz with 64 GB of ECC memory.",
            "Every model has two 2.5 GbE network ports, and the Q8 adds two 10 GbE SFP+ ports.",
            "Power consumption:",
            "The Quillfin Vault Q2 draws at most 30 W under full load.",
            "The Quillfin Vault Q4 draws at most 65 W under full load.",
            "The Quillfin Vault Q8 draws at most 140 W under full load.",
            "With disks spun down, the Q4 idles at 22 W.",
            "All models use an external 100-240 V power adapter, and the Q8 also has a second, redundant power input.",
        ],
    ),
    (
        "Environment and physical",
        [
            "The operating temperature range of every Quillfin Vault is 5 to 35 degrees Celsius.",
            "The operating humidity range is 10 to 85 percent, non-condensing.",
            "The Q2 measures 23 x 12 x 22 cm and weighs 2.4 kg without disks.",
            "The Q4 measures 23 x 20 x 22 cm and weighs 4.1 kg without disks.",
            "The Q8 is a 2U rack unit that weighs 11.5 kg without disks, and rack rails are included.",
            "The Quillfin Vault is certified CE, FCC Class B and RoHS compliant.",
        ],
    ),
]

WARRANTY: list[Page] = [
    (
        "Quillfin Vault Warranty and Service",
        [
            "This document describes the hardware warranty and the repair service for the Quillfin Vault.",
            "Warranty coverage:",
            "The Quillfin Vault Q2 has a 2-year limited hardware warranty.",
            "The Quillfin Vault Q4 has a 3-year limited hardware warranty.",
            "The Quillfin Vault Q8 has a 5-year limited hardware warranty.",
            "The warranty period starts on the delivery date shown on your invoice.",
            "Disks sold pre-installed by Marrowind are covered by the disk maker's warranty, not by the Quillfin "
            "warranty.",
        ],
    ),
    (
        "Repairs and returns",
        [
            "To request a repair, open a support ticket with the vault's serial number and its diagnostics bundle.",
            "For the Quillfin Vault Q8, Marrowind ships an advance replacement within 2 business days.",
            "A Q2 or Q4 sent for repair is repaired or replaced within 10 business days of reaching the service "
            "centre.",
            "Remove all disks before you ship a vault for repair, because Marrowind does not return disks sent "
            "with a vault.",
            "You can return an unused Quillfin Vault within 30 days of delivery for a full refund.",
        ],
    ),
    (
        "Exclusions and support",
        [
            "The warranty does not cover damage caused by power surges, liquids, or opening the sealed chassis.",
            "The warranty does not cover data loss; keep a second copy of important backups, for example with "
            "Cloud Sync.",
            "Firmware updates are free for the life of the product.",
            "Standard support hours are 08:00 to 18:00 Central European Time, Monday to Friday.",
            "Marrowind Systems, 12 Harbour Lane, Port Ellis. Warranty claims: warranty@marrowind.example.",
        ],
    ),
]


def write_pdf(path: Path, title: str, pages: list[Page]) -> None:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(CREATED)
    pdf.set_producer("ragwright scripts/make_sample_pdfs.py")
    pdf.set_creator("ragwright")
    pdf.set_title(title)
    pdf.set_author("Marrowind Systems")
    pdf.set_margins(20, 20, 20)
    for heading, paragraphs in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", style="B", size=16)
        pdf.multi_cell(0, 9, heading)
        pdf.ln(3)
        pdf.set_font("Helvetica", size=11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph)
            pdf.ln(2)
    path.write_bytes(bytes(pdf.output()))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    write_pdf(OUT / "datasheet.pdf", "Quillfin Vault Datasheet", DATASHEET)
    write_pdf(OUT / "warranty-and-service.pdf", "Quillfin Vault Warranty and Service", WARRANTY)
    print(f"wrote {OUT / 'datasheet.pdf'} and {OUT / 'warranty-and-service.pdf'}")


if __name__ == "__main__":
    main()

"""Refresh the committed web UI screenshots (docs/screenshots/*.png, shown in the README and docs/ui.md).

The browser tests write every screenshot to the git-ignored ``ui-screenshots/`` at 375 and 1440 px. This script runs
them (unless ``--no-run``), takes the pages in :data:`SELECTION`, and writes them small: the 1440 px ones scaled to
960 px wide, both cut to at most 1,400 px tall, as 128-colour palette PNGs.

    PYTHONPATH=src .venv/bin/python scripts/ui_screenshots.py            # run tests/ui, then copy
    PYTHONPATH=src .venv/bin/python scripts/ui_screenshots.py --no-run   # copy what the last run wrote
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "ui-screenshots"
TARGET = ROOT / "docs" / "screenshots"
SELECTION = (
    "login",
    "chat-answer",
    "chat-citation",
    "documents-list",
    "documents-upload",
    "evals-runs",
    "evals-compare",
    "ops-keys",
    "ops-usage",
    "ops-trace",
    "home",
)
"""Screenshot names (``screenshots(page, name)`` in tests/ui) that are committed; a missing one is reported."""
WIDE = 960
TALLEST = 1400


def shrink(source: Path, target: Path) -> int:
    """Write ``source`` scaled and palette-reduced to ``target``; returns its size in bytes."""
    with Image.open(source) as img:
        img = img.convert("RGB")
        if img.width > WIDE:
            img = img.resize((WIDE, round(img.height * WIDE / img.width)), Image.Resampling.LANCZOS)
        if img.height > TALLEST:
            img = img.crop((0, 0, img.width, TALLEST))
        img.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
    return target.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-run", action="store_true", help="copy what the last browser test run wrote")
    args = parser.parse_args()
    if not args.no_run:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "tests/ui"], cwd=ROOT)
        if done.returncode != 0:
            print("the browser tests failed: screenshots not refreshed", file=sys.stderr)
            return done.returncode
    TARGET.mkdir(parents=True, exist_ok=True)
    missing = []
    for name in SELECTION:
        for width in (375, 1440):
            source = SOURCE / f"{name}-{width}.png"
            if not source.exists():
                missing.append(source.name)
                continue
            size = shrink(source, TARGET / source.name)
            print(f"{TARGET.relative_to(ROOT) / source.name}: {size / 1024:.0f} KB")
    if missing:
        print(f"not written by the tests (yet): {', '.join(missing)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

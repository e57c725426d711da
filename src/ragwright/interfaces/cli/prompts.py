"""`ragwright prompts ...`: list, show, create, label, diff and A/B the versioned prompts (docs/prompts.md)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from ragwright.config import load_settings
from ragwright.errors import UserError
from ragwright.interfaces.cli import render
from ragwright.prompts.registry import PromptRegistry

prompts_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Path to ragwright.toml.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Index directory (default ./.ragwright).")]
TenantOpt = Annotated[str | None, typer.Option("--tenant", help="Tenant whose prompts these are (default: config).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
LabelOpt = Annotated[str, typer.Option("--label", help="The label the split applies to.")]


@contextmanager
def _registry(config: Path | None, data_dir: Path | None, tenant: str | None) -> Iterator[tuple[PromptRegistry, str]]:
    from ragwright.app import Ragwright

    settings = load_settings(config, data_dir=data_dir)
    rw = Ragwright(settings)
    try:
        yield rw.prompts, tenant or settings.tenant
    finally:
        rw.close()


@prompts_app.command("list")
def list_cmd(
    config: ConfigOpt = None, data_dir: DataDirOpt = None, tenant: TenantOpt = None, json_out: JsonOpt = False
) -> None:
    """Every prompt with its labels and A/B splits."""
    with _registry(config, data_dir, tenant) as (reg, t):
        infos = reg.overview(t)
    if json_out:
        render.print_json([i.to_dict() for i in infos])
        return
    from rich.table import Table

    table = Table(title=f"prompts of tenant {t}")
    for col in ("name", "versions", "labels", "A/B", "source"):
        table.add_column(col)
    for i in infos:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(i.labels.items()))
        splits = ", ".join(f"{s.label}: {s.percent:g}% -> v{s.version}" for s in i.splits)
        table.add_row(i.name, str(i.versions), labels, splits, "own" if i.customised else "packaged")
    render.console.print(table)


@prompts_app.command("show")
def show_cmd(
    name: Annotated[str, typer.Argument(help="Prompt name, e.g. answer.")],
    ref: Annotated[str, typer.Argument(help="Version number or label.")] = "production",
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    tenant: TenantOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """One version's template (by number or label), its variables and note."""
    with _registry(config, data_dir, tenant) as (reg, t):
        version = reg.get(t, name, ref)
        labels = sorted(k for k, v in reg.labels(t, name).items() if v == version.version)
    if json_out:
        render.print_json({**version.to_dict(), "labels": labels})
        return
    render.err_console.print(
        f"{version.tag}  labels: {', '.join(labels) or '-'}  variables: {', '.join(version.variables) or '-'}"
        + (f"  note: {version.note}" if version.note else "")
    )
    sys.stdout.write(version.template if version.template.endswith("\n") else version.template + "\n")


@prompts_app.command("create")
def create_cmd(
    name: Annotated[str, typer.Argument(help="Prompt name (a packaged one, or a new one).")],
    file: Annotated[Path, typer.Option("--file", help="The template ($name placeholders); - reads stdin.")],
    var: Annotated[
        list[str] | None,
        typer.Option("--var", help="A variable the template uses (repeatable; default: a packaged prompt's own)."),
    ] = None,
    note: Annotated[str, typer.Option("--note", help="Why this version exists.")] = "",
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    tenant: TenantOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Add the next version (labelled latest; production does not move)."""
    text = sys.stdin.read() if str(file) == "-" else _read(file)
    with _registry(config, data_dir, tenant) as (reg, t):
        declared = var if var is not None else _default_vars(name)
        made = reg.create(t, name, text, declared, note=note, by="cli")
        labels = reg.labels(t, name)
    if json_out:
        render.print_json(made.to_dict(template=False))
        return
    render.console.print(
        f"created {made.tag}; production is v{labels.get('production')}: "
        f"`ragwright prompts label {name} staging {made.version}` to stage it"
    )


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {file}: {exc}") from None


def _default_vars(name: str) -> list[str]:
    from ragwright.prompts.packaged import PACKAGED_FILES, packaged

    return list(packaged(name).variables) if name in PACKAGED_FILES else []


@prompts_app.command("label")
def label_cmd(
    name: Annotated[str, typer.Argument(help="Prompt name.")],
    label: Annotated[str, typer.Argument(help="production, staging or a label of your own.")],
    version: Annotated[int, typer.Argument(help="The version it points at from now on.")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    tenant: TenantOpt = None,
) -> None:
    """Point a label at a version: promote, or roll back by pointing it at an earlier one."""
    with _registry(config, data_dir, tenant) as (reg, t):
        previous = reg.label(t, name, label, version, by="cli")
    was = f" (was v{previous})" if previous is not None else " (new label)"
    render.console.print(f"{name}: {label} -> v{version}{was}", markup=False)


@prompts_app.command("diff")
def diff_cmd(
    name: Annotated[str, typer.Argument(help="Prompt name.")],
    a: Annotated[str, typer.Argument(help="Version number or label.")],
    b: Annotated[str, typer.Argument(help="Version number or label.")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    tenant: TenantOpt = None,
) -> None:
    """A unified diff of two versions' templates."""
    with _registry(config, data_dir, tenant) as (reg, t):
        text = reg.diff(t, name, a, b)
    sys.stdout.write(text or f"{name} {a} and {b} have the same template\n")


@prompts_app.command("ab")
def ab_cmd(
    name: Annotated[str, typer.Argument(help="Prompt name.")],
    version: Annotated[int | None, typer.Argument(help="The version some traffic gets.")] = None,
    percent: Annotated[float | None, typer.Argument(help="Its share of the label's traffic, 0-100.")] = None,
    label: LabelOpt = "production",
    stop: Annotated[bool, typer.Option("--stop", help="End the split: all traffic gets the label's version.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    tenant: TenantOpt = None,
) -> None:
    """Send PERCENT of a label's traffic to VERSION, sticky per API key or conversation; --stop ends it."""
    with _registry(config, data_dir, tenant) as (reg, t):
        if stop:
            reg.unsplit(t, name, label=label, by="cli")
            render.console.print(f"{name}: no split on {label}", markup=False)
            return
        if version is None or percent is None:
            raise UserError("give VERSION and PERCENT (e.g. `ragwright prompts ab answer 3 10`), or --stop")
        split = reg.split(t, name, version, percent, label=label, by="cli")
    render.console.print(
        f"{name}: {split.percent:g}% of {label} -> v{split.version}, sticky per key or conversation", markup=False
    )

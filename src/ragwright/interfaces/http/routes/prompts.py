"""The prompt registry for admin keys (docs/prompts.md): ``/v1/prompts`` and its versions, labels, splits and diffs.

Every route needs the ``admin`` scope and acts on the key's own tenant only: another tenant's versions read as missing
(404), exactly as the registry's own tenant rule has it (:mod:`ragwright.prompts.registry`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ragwright.interfaces.http.auth import Principal, get_state, require
from ragwright.interfaces.http.limits import run_blocking
from ragwright.interfaces.http.schemas import ERRORS
from ragwright.prompts.registry import MAX_VERSION, PromptRegistry
from ragwright.prompts.template import MAX_TEMPLATE_CHARS

router = APIRouter(tags=["prompts"])
Admin = Annotated[Principal, Depends(require("admin"))]
NamePath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="Prompt name, e.g. answer.")]
LabelPath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="Label, e.g. production.")]
RefPath = Annotated[str, Path(pattern=r"^[a-z0-9_]{1,64}$", description="Version number or label.")]
"""A number too large for a version is a 400 from the registry, as a bad label name is."""
T = TypeVar("T")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewVersion(_Body):
    """A new version: the template (``$name`` placeholders) and the variables it declares."""

    template: str = Field(min_length=1, max_length=MAX_TEMPLATE_CHARS)
    variables: list[str] = Field(default_factory=list, max_length=32)
    note: str = Field(default="", max_length=500)


class LabelMove(_Body):
    """Where a label points from now on."""

    version: int = Field(ge=1, le=MAX_VERSION)


class SplitIn(_Body):
    """An A/B split of a label: ``percent`` of sticky keys get ``version``."""

    version: int = Field(ge=1, le=MAX_VERSION)
    percent: float = Field(gt=0, lt=100)


class VersionOut(BaseModel):
    """One version."""

    name: str
    version: int
    tag: str
    variables: list[str]
    note: str
    created_at: float
    created_by: str
    packaged: bool
    template: str | None = None
    labels: list[str] = Field(default_factory=list)


class SplitOut(BaseModel):
    """An A/B split."""

    label: str
    version: int
    percent: float


class PromptOut(BaseModel):
    """A prompt name as the tenant sees it."""

    name: str
    versions: int
    labels: dict[str, int]
    splits: list[SplitOut]
    customised: bool


class PromptList(BaseModel):
    """Every prompt of the tenant."""

    prompts: list[PromptOut]


class PromptDetail(PromptOut):
    """One prompt with its version history (templates left out)."""

    history: list[VersionOut]


class LabelOut(BaseModel):
    """A label after a move, and the version it pointed at before (null: a new label)."""

    name: str
    label: str
    version: int
    previous: int | None


class DiffOut(BaseModel):
    """A unified diff of two versions' templates."""

    name: str
    a: int
    b: int
    diff: str


async def _run(request: Request, fn: Callable[[PromptRegistry], T]) -> T:
    state = get_state(request)

    def call() -> T:
        with state.reader() as rw:
            return fn(rw.prompts)

    return await run_blocking(call, timeout=state.service.request_timeout)


def _version(v: Any, labels: dict[str, int], *, template: bool = True) -> VersionOut:
    return VersionOut(**v.to_dict(template=template), labels=sorted(k for k, n in labels.items() if n == v.version))


@router.get("/v1/prompts", response_model=PromptList, responses=ERRORS)
async def list_prompts(request: Request, principal: Admin) -> PromptList:
    """Every prompt of the key's tenant (the packaged ones and its own) with labels and splits."""
    infos = await _run(request, lambda reg: reg.overview(principal.tenant))
    return PromptList(prompts=[PromptOut(**i.to_dict()) for i in infos])


@router.get("/v1/prompts/{name}", response_model=PromptDetail, responses=ERRORS)
async def get_prompt(name: NamePath, request: Request, principal: Admin) -> PromptDetail:
    """One prompt: labels, splits and every version (without templates)."""

    def read(reg: PromptRegistry) -> PromptDetail:
        info = reg.info(principal.tenant, name)
        history = [_version(v, info.labels, template=False) for v in reg.versions(principal.tenant, name)]
        return PromptDetail(**info.to_dict(), history=history)

    return await _run(request, read)


@router.get("/v1/prompts/{name}/versions/{ref}", response_model=VersionOut, responses=ERRORS)
async def get_version(name: NamePath, ref: RefPath, request: Request, principal: Admin) -> VersionOut:
    """One version by number or label, with its template."""

    def read(reg: PromptRegistry) -> VersionOut:
        return _version(reg.get(principal.tenant, name, ref), reg.labels(principal.tenant, name))

    return await _run(request, read)


@router.post("/v1/prompts/{name}/versions", status_code=201, response_model=VersionOut, responses=ERRORS)
async def create_version(name: NamePath, body: NewVersion, request: Request, principal: Admin) -> VersionOut:
    """Add the next version (labelled ``latest``; ``production`` does not move). 400 names what is wrong."""

    def write(reg: PromptRegistry) -> VersionOut:
        made = reg.create(
            principal.tenant, name, body.template, body.variables, note=body.note, by=principal.key.key_id
        )
        return _version(made, reg.labels(principal.tenant, name))

    return await _run(request, write)


@router.put("/v1/prompts/{name}/labels/{label}", response_model=LabelOut, responses=ERRORS)
async def move_label(name: NamePath, label: LabelPath, body: LabelMove, request: Request, principal: Admin) -> LabelOut:
    """Point a label at a version: promote, or roll back to an earlier one."""
    previous = await _run(
        request, lambda reg: reg.label(principal.tenant, name, label, body.version, by=principal.key.key_id)
    )
    return LabelOut(name=name, label=label, version=body.version, previous=previous)


@router.put("/v1/prompts/{name}/splits/{label}", response_model=SplitOut, responses=ERRORS)
async def set_split(name: NamePath, label: LabelPath, body: SplitIn, request: Request, principal: Admin) -> SplitOut:
    """Send ``percent`` of the label's traffic to ``version``, sticky per API key or conversation."""
    split = await _run(
        request,
        lambda reg: reg.split(principal.tenant, name, body.version, body.percent, label=label, by=principal.key.key_id),
    )
    return SplitOut(label=split.label, version=split.version, percent=split.percent)


@router.delete("/v1/prompts/{name}/splits/{label}", status_code=204, responses=ERRORS)
async def end_split(name: NamePath, label: LabelPath, request: Request, principal: Admin) -> Response:
    """End the label's split: all of its traffic gets the version it points at."""
    await _run(request, lambda reg: reg.unsplit(principal.tenant, name, label=label, by=principal.key.key_id))
    return Response(status_code=204)


@router.get("/v1/prompts/{name}/diff", response_model=DiffOut, responses=ERRORS)
async def diff_versions(
    name: NamePath,
    request: Request,
    principal: Admin,
    a: Annotated[str, Query(pattern=r"^[a-z0-9_]{1,64}$", description="Version or label.")],
    b: Annotated[str, Query(pattern=r"^[a-z0-9_]{1,64}$", description="Version or label.")],
) -> DiffOut:
    """A unified diff of two versions' templates."""

    def read(reg: PromptRegistry) -> DiffOut:
        old, new = reg.get(principal.tenant, name, a), reg.get(principal.tenant, name, b)
        return DiffOut(name=name, a=old.version, b=new.version, diff=reg.diff(principal.tenant, name, a, b))

    return await _run(request, read)

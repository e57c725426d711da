"""Operations · Prompts (``/ops/prompts``, admin keys): the tenant's prompts with their labels and A/B splits, one
prompt's versions with a template, and moving a label (promote a version, or roll back to an earlier one).

Everything goes through :class:`~ragwright.prompts.registry.PromptRegistry` with the session key's tenant, as the
``/v1/prompts`` routes do: another tenant's prompts read as missing, the packaged defaults are version 1 of an
untouched tenant, and ``latest`` cannot be moved by hand. New versions and splits are made with ``ragwright prompts``
or the API (docs/prompts.md); this page shows them.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from ragwright.errors import UserError
from ragwright.interfaces.http.auth import get_state
from ragwright.prompts.model import DEFAULT_LABEL, LATEST, Label, PromptInfo, PromptVersion
from ragwright.prompts.registry import MAX_VERSION
from ragwright.ui.auth import UiUser, ui_admin
from ragwright.ui.ops_common import blocking, ops_error, ops_render

router = APIRouter()


@router.get("/ops/prompts")
async def prompts_page(request: Request, user: UiUser = Depends(ui_admin)) -> Response:
    state = get_state(request)

    def read() -> list[PromptInfo]:
        with state.reader() as rw:
            return rw.prompts.overview(user.key.tenant)

    infos = await blocking(request, read)
    return ops_render(request, "ops/prompts.html", user, sub="prompts", title="Prompts", prompts=infos)


@router.get("/ops/prompts/{name}")
async def prompt_page(
    name: str,
    request: Request,
    user: UiUser = Depends(ui_admin),
    v: Annotated[str, Query(max_length=64)] = DEFAULT_LABEL,
) -> Response:
    state = get_state(request)

    def read() -> tuple[PromptInfo, list[PromptVersion], PromptVersion]:
        with state.reader() as rw:
            reg = rw.prompts
            info = reg.info(user.key.tenant, name)
            return info, reg.versions(user.key.tenant, name), reg.get(user.key.tenant, name, v)

    try:
        info, versions, shown = await blocking(request, read)
    except UserError as exc:
        return ops_error(request, user, exc)
    movable = sorted({*info.labels, Label.PRODUCTION.value, Label.STAGING.value} - {LATEST})
    return ops_render(
        request,
        "ops/prompt.html",
        user,
        sub="prompts",
        title=f"Prompt {name}",
        info=info,
        versions=sorted(versions, key=lambda x: -x.version),
        shown=shown,
        movable=movable,
        moved=moved if (moved := request.query_params.get("moved", "")) in info.labels else "",
    )


@router.post("/ops/prompts/{name}/labels")
async def move_label(
    name: str,
    request: Request,
    user: UiUser = Depends(ui_admin),
    label: str = Form(..., max_length=64),
    version: int = Form(..., ge=1, le=MAX_VERSION),
) -> Response:
    state = get_state(request)

    def write() -> int | None:
        with state.reader() as rw:
            return rw.prompts.label(user.key.tenant, name, label, version, by=user.key.key_id)

    try:
        await blocking(request, write)
    except UserError as exc:
        return ops_error(request, user, exc)
    return RedirectResponse(f"/ops/prompts/{quote(name)}?moved={quote(label)}", status_code=303)

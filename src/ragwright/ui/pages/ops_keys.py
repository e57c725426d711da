"""Operations · Keys (``/ops/keys``, admin keys): list, create (the key shown once), revoke after a confirmation.

What an admin key may manage is :mod:`ragwright.service.key_admin`'s rule: keys of its tenant that its tags cover;
keys it creates are of its tenant and, for a tag-limited admin, limited to its tags. A new key is shown once, in the
response to the form that made it (never in a URL, a cookie, a log or a redirect; pages are ``no-store``). Revoking
ends the key's sessions and API access at once: with ``[redis]`` the revocation is announced to every replica before
the page answers.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from ragwright.errors import KeyNotFound, UserError
from ragwright.interfaces.http.auth import get_state
from ragwright.redact import quote_id
from ragwright.service.key_admin import MAX_NAME, create_key, manageable_keys, revoke_key
from ragwright.service.keys import GRANTS, SCOPES, ApiKey
from ragwright.ui.auth import UiUser, ui_admin
from ragwright.ui.ops_common import blocking, ops_error, ops_render

router = APIRouter()

SCOPE_CHOICES = (*SCOPES, *GRANTS)
SCOPE_HELP = {
    "read": "search, ask, chat, read documents",
    "write": "also upload and delete documents",
    "admin": "also these Operations pages, prompts, traces, usage",
    "approve": "approve or deny an agent's paused tool calls",
}


def _split(tags: str) -> list[str]:
    return [t.strip() for t in tags.split(",") if t.strip()]


def _revoked(request: Request, keys: list[ApiKey]) -> str:
    """The key id the revoke redirect names, when it is a revoked key on this list (a link cannot fake the notice)."""
    named = request.query_params.get("revoked", "")
    return named if any(k.key_id == named and k.revoked for k in keys) else ""


async def _page(
    request: Request,
    user: UiUser,
    *,
    created: tuple[str, ApiKey] | None = None,
    error: str = "",
    form: dict[str, object] | None = None,
    status_code: int = 200,
) -> Response:
    state = get_state(request)
    keys = await blocking(request, lambda: manageable_keys(state.keys, user.key))
    return ops_render(
        request,
        "ops/keys.html",
        user,
        sub="keys",
        title="Keys",
        status_code=status_code,
        keys=keys,
        created=created,
        error=error,
        form=form or {"name": "", "scopes": ["read"], "tags": ""},
        scope_choices=SCOPE_CHOICES,
        scope_help=SCOPE_HELP,
        max_name=MAX_NAME,
        revoked=_revoked(request, keys),
        me=user.key.key_id,
    )


@router.get("/ops/keys")
async def keys_page(request: Request, user: UiUser = Depends(ui_admin)) -> Response:
    return await _page(request, user)


@router.post("/ops/keys")
async def create(
    request: Request,
    user: UiUser = Depends(ui_admin),
    name: str = Form("", max_length=500),
    scopes: list[str] = Form([]),
    tags: str = Form("", max_length=4000),
) -> Response:
    state = get_state(request)
    form: dict[str, object] = {"name": name, "scopes": scopes, "tags": tags}
    try:
        made = await blocking(
            request, lambda: create_key(state.keys, user.key, scopes=scopes, tags=_split(tags), name=name)
        )
    except UserError as exc:  # bad scopes or tags, or tags outside a tag-limited admin's: the form again
        return await _page(request, user, error=str(exc), form=form, status_code=400)
    return await _page(request, user, created=made)


@router.get("/ops/keys/{key_id}/revoke")
async def confirm_revoke(key_id: str, request: Request, user: UiUser = Depends(ui_admin)) -> Response:
    state = get_state(request)
    keys = await blocking(request, lambda: manageable_keys(state.keys, user.key))
    key = next((k for k in keys if k.key_id == key_id), None)
    if key is None:
        return ops_error(request, user, KeyNotFound(f"no key {quote_id(key_id)}"))
    return ops_render(request, "ops/key_revoke.html", user, sub="keys", title="Revoke key", key=key, me=user.key.key_id)


@router.post("/ops/keys/{key_id}/revoke")
async def revoke(key_id: str, request: Request, user: UiUser = Depends(ui_admin)) -> Response:
    state = get_state(request)
    try:
        await blocking(request, lambda: revoke_key(state.keys, user.key, key_id))
    except UserError as exc:
        return ops_error(request, user, exc)
    if state.key_versions is not None:  # every replica forgets the keys it verified before its next request
        await state.key_versions.bump()
    return RedirectResponse(f"/ops/keys?revoked={key_id}", status_code=303)

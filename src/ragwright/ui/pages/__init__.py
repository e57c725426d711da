"""The UI's page modules: each ``<area>.py`` here exposes ``router`` (a FastAPI ``APIRouter``) and is included by
:func:`ragwright.ui.ui_router` in name order. See docs/ui.md ("Adding a page")."""

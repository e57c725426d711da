"""The user's schema for an extraction: a JSON Schema (a file or a request's object) or a pydantic model.

:class:`ExtractionSchema` holds the JSON Schema the model is shown and validates what it replies: with a pydantic
model, through the model (so its own validators and types apply); otherwise with ``jsonschema`` (Draft 2020-12).
Validation errors come back as one line per problem (``field: message``), which is what a re-ask shows the model.

Example::

    schema = ExtractionSchema.load("invoice.json")            # or "myapp.models:Invoice"
    schema.errors({"total": "12.50"})                          # ["company: 'company' is a required property"]
    schema.fields                                              # ("company", "date", "total")
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ValidationError

from ragwright.errors import ExtractionSchemaError

__all__ = ["MAX_SCHEMA_CHARS", "ExtractionSchema"]

MAX_SCHEMA_CHARS = 64_000
"""A schema longer than this (as JSON) is refused: it is pasted into every prompt."""


@dataclass(frozen=True)
class ExtractionSchema:
    """What to extract: the JSON Schema shown to the model and the validator for its reply."""

    json_schema: dict[str, Any]
    name: str = "extraction"
    model: type[BaseModel] | None = None
    """The pydantic model the schema came from, when it did (its validators then decide what is valid)."""

    def __post_init__(self) -> None:
        if not isinstance(self.json_schema, dict):
            raise ExtractionSchemaError("the schema must be a JSON object")
        if self.json_schema.get("type", "object") != "object" or not isinstance(
            self.json_schema.get("properties"), dict
        ):
            raise ExtractionSchemaError("the schema must describe an object with 'properties' (one per field)")
        if len(json.dumps(self.json_schema)) > MAX_SCHEMA_CHARS:
            raise ExtractionSchemaError(f"the schema is over {MAX_SCHEMA_CHARS:,} characters as JSON")
        try:
            Draft202012Validator.check_schema(self.json_schema)
        except SchemaError as exc:
            raise ExtractionSchemaError(f"not a valid JSON Schema: {exc.message}") from None

    @classmethod
    def from_model(cls, model: type[BaseModel]) -> ExtractionSchema:
        return cls(model.model_json_schema(), name=model.__name__, model=model)

    @classmethod
    def load(cls, ref: str) -> ExtractionSchema:
        """A ``.json`` file, or ``module:Model`` naming a pydantic model importable from the current environment."""
        path = Path(ref)
        if path.suffix.lower() == ".json" or path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except OSError as exc:
                raise ExtractionSchemaError(f"cannot read schema {ref}: {exc.strerror or exc}") from None
            except json.JSONDecodeError as exc:
                raise ExtractionSchemaError(f"schema {ref} is not JSON: {exc.msg} (line {exc.lineno})") from None
            return cls(data, name=str(data.get("title") or path.stem) if isinstance(data, dict) else path.stem)
        module_name, sep, attr = ref.partition(":")
        if not sep or not module_name or not attr:
            raise ExtractionSchemaError(f"schema {ref!r}: give a .json file or module:Model")
        try:
            target = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ExtractionSchemaError(f"cannot import {ref}: {exc}") from None
        if not (isinstance(target, type) and issubclass(target, BaseModel)):
            raise ExtractionSchemaError(f"{ref} is not a pydantic model")
        return cls.from_model(target)

    @property
    def fields(self) -> tuple[str, ...]:
        """The top-level fields, in schema order (what chunk results are merged by and evals score)."""
        return tuple(self.json_schema["properties"])

    def errors(self, data: Any) -> list[str]:
        """Why ``data`` does not follow the schema, one line each; empty when it does."""
        if self.model is not None:
            try:
                self.model.model_validate(data)
            except ValidationError as exc:
                return [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()]
            return []
        validator = Draft202012Validator(self.json_schema)
        found = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.path])
        return [f"{'.'.join(str(p) for p in e.path) or '(root)'}: {e.message}" for e in found]

    def normalised(self, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` as the pydantic model dumps it (types coerced), or as it is for a plain JSON Schema."""
        if self.model is None:
            return data
        dumped: dict[str, Any] = self.model.model_validate(data).model_dump(mode="json")
        return dumped

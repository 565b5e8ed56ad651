"""ARCHITECTURE.md's rules, read from the code: what must never import what, one place for the
dispatcher's call and for outbox rows, no import circles, no module over 450 lines.

The code is read, not run (ast): nothing is imported, so a broken rule shows as the file and the
import that break it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("bot", "flows", "webhooks")
MAX_LINES = 450
PROVIDERS_AND_FRAMEWORKS = ("flask", "werkzeug", "sqlalchemy", "alembic", "telegram", "twilio", "redis", "psycopg")


def modules() -> Iterator[tuple[str, Path]]:
    """Yield every module of the code (dotted name, path)."""
    for part in PARTS:
        for path in sorted((ROOT / part).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield name.removesuffix(".__init__"), path


@cache
def project_modules() -> frozenset[str]:
    """Return the dotted names of the code's modules."""
    return frozenset(name for name, _ in modules())


@cache
def imported(path: Path) -> tuple[str, ...]:
    """Return the modules a file imports, anywhere in it: `from bot.channels import local` is bot.channels.local."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.append(submodule if submodule in project_modules() else node.module)
    return tuple(names)


def breaking(part: str, allowed: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    """Return "module imports name" for each import of a part's modules that the rule forbids."""
    return [
        f"{name} imports {target}"
        for name, path in modules()
        if name == part or name.startswith(part + ".")
        for target in imported(path)
        if target.startswith(forbidden) and not target.startswith(allowed)
    ]


def test_flows_import_nothing_of_the_runtime_the_web_or_a_provider() -> None:
    forbidden = tuple(f"{top}" for top in ("bot", "webhooks", *PROVIDERS_AND_FRAMEWORKS))
    assert breaking("flows", (), forbidden) == []


def test_channel_adapters_hold_no_business_rule() -> None:
    forbidden = ("bot.services", "bot.dispatch", "bot.inbound", "bot.outbox.enqueue", "flows.steps", "flows.conversation", "webhooks")
    assert breaking("bot.channels", (), forbidden) == []


def test_services_never_reach_the_web_the_sending_worker_or_a_channels_sending_side() -> None:
    # A channel's name and address rules (bot/channels/local.py) are all a service may take.
    assert breaking("bot.services", ("bot.channels.local",), ("webhooks", "bot.outbox.worker", "bot.channels", "bot.dispatch")) == []


def test_store_and_platform_lean_on_nothing_above_them() -> None:
    above = ("bot.", "webhooks", "flows")
    assert breaking("bot.store", ("bot.store",), above) == []
    # The catalogs translate flows' messages; a send rate limit is one of the channels' SendErrors.
    assert breaking("bot.platform", ("bot.platform", "bot.store", "flows.messages", "flows.engine", "bot.channels.base"), above) == []


def _calls(path: Path, attribute: str) -> list[int]:
    """Return the lines where a file calls something's `attribute` (x.attribute(...))."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attribute
    ]


def test_the_dispatcher_is_called_from_one_place() -> None:
    callers = {name for name, path in modules() if _calls(path, "dispatch")}
    assert callers == {"bot.inbound"}


def _builds_an_outbox_row(node: ast.AST) -> bool:
    """Say whether a node makes an outbox row: OutboxMessage(...), or an insert of it (insert(OutboxMessage), dialect_insert(s)(OutboxMessage))."""
    if not isinstance(node, ast.Call):
        return False
    if isinstance(node.func, ast.Name) and node.func.id == "OutboxMessage":
        return True
    names_the_table = any(isinstance(arg, ast.Name) and arg.id == "OutboxMessage" for arg in node.args)
    return names_the_table and "insert" in ast.unparse(node.func)


def test_outbox_rows_are_built_in_one_function() -> None:
    builders = {
        name
        for name, path in modules()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if _builds_an_outbox_row(node)
    }
    assert builders == {"bot.outbox.enqueue"}


def _project_edges() -> dict[str, set[str]]:
    """Return each module's imports of the project's own modules."""
    names = project_modules()
    edges: dict[str, set[str]] = {}
    for name, path in modules():
        edges[name] = set()
        for target in imported(path):
            # "from bot.store import models" names the module bot.store.models; "from bot.store.models
            # import Token" names bot.store.models. A package's __init__ is its own module.
            while target and target not in names:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                edges[name].add(target)
    return edges


def test_no_import_circles() -> None:
    edges = _project_edges()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    assert circles == []


@pytest.mark.parametrize("part", PARTS)
def test_no_module_is_over_450_lines(part: str) -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for name, path in modules()
        if name.split(".")[0] == part and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}

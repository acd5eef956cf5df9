"""The layout holds, read from the code's own imports (the standard library's ast, imports
inside functions included): no service imports another, shared/ and the scenario import no
service, and no module imports itself back through others. And who consumes an event is
answered by reading each service's handlers file."""
import ast
from pathlib import Path

import pytest

from shared.events import CATALOGUE
from shared.events.catalogue import source_types

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("shared", "services", "launcher", "scenario", "deploy", "bench")
SERVICES = ("intake", "casework", "evaluation")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def _resolve(name: str, known: dict) -> str | None:
    """The project module an import names (the longest known prefix), or None."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path, known: dict) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{alias.name}" for alias in node.names] or [base]
        else:
            continue
        found |= {m for m in (_resolve(t, known) for t in targets) if m and m != module}
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    known = project_modules()
    return {module: imports_of(module, path, known) for module, path in known.items()}


def _service_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "services" and len(parts) > 1 else None


def test_no_service_imports_another(graph):
    crossing = [(m, i) for m, imported in graph.items() for i in imported
                if _service_of(m) and _service_of(i) and _service_of(m) != _service_of(i)]
    assert crossing == []


@pytest.mark.parametrize("package", ["shared", "scenario"])
def test_shared_and_the_scenario_import_no_service(graph, package):
    """The scenario talks to the services through their HTTP APIs only."""
    reaching = [(m, i) for m, imported in graph.items() if m.split(".")[0] == package
                for i in imported if i.split(".")[0] in ("services", "launcher", "bench")]
    assert reaching == []


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle(graph):
    assert cycles(graph) == []


def test_the_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _written_handlers(service: str) -> dict:
    """HANDLERS of a service's handlers.py, as written there: {event type: function name}."""
    tree = ast.parse((ROOT / "services" / service / "handlers.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["HANDLERS"]:
            assert isinstance(node.value, ast.Dict), f"{service}'s HANDLERS is not written out"
            return {k.value: ast.unparse(v) for k, v in zip(node.value.keys, node.value.values)}
    raise AssertionError(f"{service}/handlers.py has no HANDLERS")


@pytest.mark.parametrize("service", SERVICES)
def test_who_consumes_what_is_written_in_the_handlers_file(service):
    import importlib
    written = _written_handlers(service)
    assert set(written) <= set(CATALOGUE)
    assert set(written) == set(importlib.import_module(f"services.{service}.handlers").HANDLERS)


def test_evaluation_consumes_every_event_intake_and_casework_publish():
    produced = set(source_types("/intake")) | set(source_types("/casework"))
    assert set(_written_handlers("evaluation")) == produced


# reading the machine's clock directly, where a simulated moment must not apply
MACHINE_TIME = {"shared/clock.py": "the clock itself",
                "shared/consumer.py": "how long an event travelled: a transport metric",
                "shared/bus.py": "the broker message's own timestamp",
                "shared/web/users.py": "a login lockout: no header may shorten it"}


def _reads_the_machine_clock(tree) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Name) and (node.func.value.id, node.func.attr) in {
                    ("datetime", "now"), ("datetime", "utcnow"), ("date", "today")}:
            return True
    return False


def test_every_recorded_time_reads_the_one_clock():
    """Event times, recorded-at columns and default days come from shared.clock alone, so
    a simulated clock (development only) stamps all of them or none."""
    readers = {str(p.relative_to(ROOT)) for package in ("shared", "services")
               for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts
               and _reads_the_machine_clock(ast.parse(p.read_text()))}
    assert readers == set(MACHINE_TIME)

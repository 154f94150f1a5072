"""The import rules of the layout, read from the source (no import runs):

- dependencies point one way: config -> newsletter -> subscriptions -> papers;
- `mailing` (how Paperboy talks to email providers) imports no app and not config;
- no two modules import each other, directly or round a longer loop, counting imports inside
  functions too (call-time imports once hid such loops).

Tests, migrations and the benchmarks (outside the shipped code) are not held to them.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "newsletter", "subscriptions", "papers", "mailing")
LAYER = {"config": 3, "newsletter": 2, "subscriptions": 1, "papers": 0}
SKIPPED_DIRS = {"tests", "migrations", "bench", "devset"}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if SKIPPED_DIRS & set(parts):
                continue
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imported_names(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".")
        if MODULES[module].name != "__init__.py":
            package.pop()
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, base] if base else package)
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def _known(name: str) -> str | None:
    """The module of ours `name` is, or is inside of."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> set[str]:
    nodes = ast.walk(ast.parse(MODULES[module].read_text()))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            for name in _imported_names(module, node):
                target = _known(name)
                if target and target != module:
                    found.add(target)
    return found


def test_dependencies_point_one_way_and_mailing_imports_no_app():
    wrong = []
    for module in MODULES:
        top = module.partition(".")[0]
        for target in _imports(module):
            other = target.partition(".")[0]
            upward = top in LAYER and other in LAYER and LAYER[other] > LAYER[top]
            if upward or (top == "mailing" and other != "mailing"):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_no_modules_import_each_other():
    graph = {module: _imports(module) for module in MODULES}
    cycles = []

    def visit(module: str, path: list[str], done: set[str]) -> None:
        for target in sorted(graph[module]):
            if target in path:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in done:
                visit(target, [*path, target], done)
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [module], done)
    assert cycles == []

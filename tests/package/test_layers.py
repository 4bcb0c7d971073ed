"""Layers point one way: the import graph of fer_engine (and dashboard above it) has no cycle and no upward edge.

The graph is read with `ast` from the source (imports inside functions count too: a lazy import is still a
dependency). `LAYERS` is the real order, lowest first, as data; docs/ARCHITECTURE.md shows the same order.
A module belongs to the entry naming the longest prefix of its dotted name, so a package may straddle layers
(`runs.layout` names a run's files, low; `runs.compare` reads evaluations, high).
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("fer_engine", "dashboard")

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundations", ("fer_engine.__init__", "fer_engine.classes", "fer_engine.errors", "fer_engine.paths",
                     "fer_engine.io_utils", "fer_engine.device")),
    ("run layout", ("fer_engine.runs.__init__", "fer_engine.runs.layout", "fer_engine.runs.resolve")),
    ("scoring", ("fer_engine.scoring",)),
    ("data", ("fer_engine.data",)),
    ("models", ("fer_engine.models",)),
    ("inference", ("fer_engine.inference",)),
    ("run index", ("fer_engine.runs.run_config", "fer_engine.runs.store")),
    ("metric learning", ("fer_engine.metric_learning",)),
    ("training", ("fer_engine.training",)),
    ("embeddings", ("fer_engine.embeddings",)),
    ("heads", ("fer_engine.heads",)),
    ("predict", ("fer_engine.predict",)),
    ("video", ("fer_engine.video",)),
    ("evaluation", ("fer_engine.evaluation",)),
    ("run catalogue", ("fer_engine.runs.examples", "fer_engine.runs.compare")),
    ("job policy", ("fer_engine.jobs.limits", "fer_engine.jobs.owners", "fer_engine.jobs.reasons",
                    "fer_engine.jobs.launch", "fer_engine.jobs.progress", "fer_engine.jobs.planning")),
    ("pipeline", ("fer_engine.pipeline", "fer_engine.shipping")),
    ("study", ("fer_engine.study",)),
    ("sweep definitions", ("fer_engine.sweeps.storage", "fer_engine.sweeps.space", "fer_engine.sweeps.study",
                           "fer_engine.sweeps.results", "fer_engine.sweeps.trial_hook")),
    ("job queue", ("fer_engine.jobs.queue", "fer_engine.jobs.spec", "fer_engine.jobs.summary")),
    ("sweep scheduling", ("fer_engine.sweeps.__init__", "fer_engine.sweeps.scheduler", "fer_engine.sweeps.manage")),
    ("job execution", ("fer_engine.jobs.__init__", "fer_engine.jobs.runners", "fer_engine.jobs.ray_backend",
                       "fer_engine.jobs.run_job", "fer_engine.jobs.worker", "fer_engine.jobs.local_worker")),
    ("cli", ("fer_engine.cli", "fer_engine.__main__")),
    ("dashboard", ("dashboard",)),
)

# Upward edges being removed elsewhere, each with why; an entry whose edge is gone fails `test_known_exceptions_exist`.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def project_modules() -> dict[str, Path]:
    """Dotted name -> source file for every module of the project's packages (a package's __init__ is
    named `<package>.__init__` only inside LAYERS when it must sit apart from its modules)."""
    return {_module_name(path): path for package in PACKAGES for path in sorted((REPO_ROOT / package).rglob("*.py"))}


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the project modules it imports; `from pkg import sub` points at the submodule, not at pkg's
    __init__ (every import runs its parent packages' __init__; counting that would make each one a cycle)."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    graph[name].add(submodule if submodule in modules else node.module)
            elif isinstance(node, ast.Import):
                graph[name].update(alias.name for alias in node.names)
        graph[name] = {target for target in graph[name] if target in modules and target != name}
    return graph


def layer_of(module: str, is_package: bool = False) -> int | None:
    """Index in LAYERS of the entry with the longest prefix of `module` (a package matches `<name>.__init__` first)."""
    candidates = [f"{module}.__init__", module] if is_package else [module]
    best: tuple[int, int] | None = None  # (prefix length, layer index)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            for candidate in candidates:
                if candidate == prefix or candidate.startswith(prefix + "."):
                    score = len(prefix) + (1 if prefix.endswith(".__init__") else 0)
                    if best is None or score > best[0]:
                        best = (score, index)
    return None if best is None else best[1]


MODULES = project_modules()
GRAPH = import_graph(MODULES)
PLACED = {name: layer_of(name, _is_package(path)) for name, path in MODULES.items()}
LEVEL = {name: level for name, level in PLACED.items() if level is not None}


def upward_edges() -> list[tuple[str, str]]:
    return sorted((source, target) for source, targets in GRAPH.items() for target in targets
                  if source in LEVEL and target in LEVEL and LEVEL[target] > LEVEL[source])


def test_every_module_has_a_layer() -> None:
    unplaced = [name for name, level in PLACED.items() if level is None]
    assert not unplaced, f"add these modules to LAYERS: {unplaced}"


def test_graph_is_read() -> None:
    """The graph sees the edges everyone knows of, so an empty graph cannot pass the checks below."""
    assert "fer_engine.errors" in GRAPH["fer_engine.heads.registry"]
    assert "fer_engine.scoring.metrics" in GRAPH["fer_engine.heads.fitting"]
    assert "fer_engine.heads.mlp" in GRAPH["fer_engine.heads.registry"]  # `from fer_engine.heads import mlp`
    assert LEVEL["fer_engine.runs.layout"] < LEVEL["fer_engine.runs.compare"]


def test_no_import_cycle() -> None:
    acyclic = {source: {target for target in targets if (source, target) not in KNOWN_UPWARD}
               for source, targets in GRAPH.items()}
    try:
        TopologicalSorter(acyclic).prepare()
    except CycleError as error:
        pytest.fail("import cycle: " + " -> ".join(error.args[1]))


def test_no_lower_layer_imports_a_higher_one() -> None:
    names = [name for name, _ in LAYERS]
    found = [f"{source} ({names[LEVEL[source]]}) imports {target} ({names[LEVEL[target]]})"
             for source, target in upward_edges() if (source, target) not in KNOWN_UPWARD]
    assert not found, "imports going up a layer:\n" + "\n".join(found)


def test_heads_do_not_import_evaluation() -> None:
    """Issue 15: heads read metrics and the paper's numbers from `scoring`, never from `evaluation`."""
    found = [(source, target) for source, targets in GRAPH.items() for target in targets
             if source.startswith("fer_engine.heads") and target.startswith("fer_engine.evaluation")]
    assert not found


def test_known_exceptions_exist() -> None:
    assert not [edge for edge in KNOWN_UPWARD if edge[1] not in GRAPH.get(edge[0], set())]


def test_layer_check_catches_an_upward_import() -> None:
    """The check itself fails on a lower layer importing a higher one."""
    assert LEVEL["fer_engine.heads.fitting"] < LEVEL["fer_engine.evaluation.evaluate"]
    GRAPH["fer_engine.heads.fitting"].add("fer_engine.evaluation.evaluate")
    try:
        assert ("fer_engine.heads.fitting", "fer_engine.evaluation.evaluate") in upward_edges()
    finally:
        GRAPH["fer_engine.heads.fitting"].discard("fer_engine.evaluation.evaluate")

"""The shape of the package (../shared/ARCHITECTURE.md): imports run one way, from the top
layer down; tasks are independent of each other; no private name crosses modules; small files."""

import ast
import os

from conftest import ROOT

# from the bottom up; a module may import its own layer (inside its own package) and the layers below
LAYERS = [
    ("kbert.errors", "kbert.metrics", "kbert.version", "kbert.integrity"),
    ("kbert.io",),
    ("kbert.data", "kbert.encoders", "kbert.families", "kbert.hf", "kbert.pieces", "kbert.converters",
     "kbert.backbones", "kbert.first_token", "kbert.tokenizers", "kbert.seeding", "kbert.precision", "kbert.schedules",
     "kbert.distribute", "kbert.optimizers", "kbert.plots", "kbert.backup", "kbert.ema", "kbert.lr_estimates"),
    ("kbert.callbacks", "kbert.models"),
    ("kbert.tasks",),
    ("kbert.text", "kbert.pretraining", "kbert.distill"),  # the tasks (and distillation over any of them)
    ("kbert.learner", "kbert.explain"),
    ("kbert.predictors",),
    ("kbert", "kbert.onnx"),  # kbert.onnx: the TensorFlow-free runtime of exported predictors
]
TASK_PACKAGES = ("kbert.text.classification", "kbert.text.ner", "kbert.text.qa", "kbert.pretraining")


def modules():
    found = {}
    for folder, _, files in os.walk(os.path.join(ROOT, "kbert")):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(folder, f)
                name = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".").removesuffix(".__init__")
                found[name] = path
    return found


def imports(path, known):
    """(kbert modules imported, private names imported) by the file at path."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    deps, private = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "kbert":
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                deps.add(full if full in known else node.module)
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    private.append(alias.name)
        elif isinstance(node, ast.Import):
            deps |= {a.name for a in node.names if a.name.split(".")[0] == "kbert"}
    return deps, private


def layer(name):
    best = None
    for i, group in enumerate(LAYERS):
        for prefix in group:
            if name == prefix or name.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (i, len(prefix))
    assert best is not None, f"{name} is in no layer of tests/test_architecture.py"
    return best[0]


def task_of(name):
    return next((t for t in TASK_PACKAGES if name == t or name.startswith(t + ".")), None)


def test_imports_run_one_way_and_tasks_are_independent():
    known = modules()
    graph = {}
    for name, path in known.items():
        deps, private = imports(path, known)
        assert not private, f"{name} imports private names {private}"
        graph[name] = deps
        for dep in deps:
            assert layer(dep) <= layer(name), f"{name} (layer {layer(name)}) imports {dep} (layer {layer(dep)})"
            if task_of(name) and task_of(dep):
                assert task_of(name) == task_of(dep), f"task {task_of(name)} imports task {task_of(dep)} ({dep})"
    # no circle: a depth-first search finds no back edge
    state = {}

    def visit(n, trail):
        state[n] = "open"
        for d in graph.get(n, ()):
            if d == n or d not in graph:
                continue
            assert state.get(d) != "open", "import circle: " + " -> ".join(trail + [n, d])
            if d not in state:
                visit(d, trail + [n])
        state[n] = "done"

    for n in graph:
        if n not in state:
            visit(n, [])


def test_no_private_names_cross_modules_in_recipes_and_benchmarks():
    for folder in ("recipes", "benchmarks", "tests"):
        for base, _, files in os.walk(os.path.join(ROOT, folder)):
            for f in files:
                if f.endswith(".py"):
                    _, private = imports(os.path.join(base, f), modules())
                    assert not private, f"{folder}/{f} imports private kbert names {private}"


def test_files_stay_small():
    for name, path in modules().items():
        lines = open(path, encoding="utf-8").read().count("\n")
        assert lines <= 400, f"{name} has {lines} lines; split it along its concepts"

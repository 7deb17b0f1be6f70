"""The house by role (issue 23): the package's shape is a tested property, not a wish.

Rooms (subpackages) by layer, bottom first; a module imports only its own room or rooms below it, never in a circle,
never a private name of another module; no module over 600 lines; no public function over 15 parameters; one name
for one job; every export cell of the notebooks followed by its example; the driver free of torch; a plain training
run free of the detection stack; the public API importable from the package top without importing torch."""
import ast, json, subprocess, sys
from collections import defaultdict
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT/"false_labels"
# A room's layer: imports point from a higher layer to a lower (or the same room).
LAYERS = {"core": 0, "noise": 1, "arrays": 2, "results": 2, "data": 2, "training": 3, "review": 3,
          "detectors": 4, "methods": 5, "study": 6, "commands": 7, "cli": 8, "__init__": 9, "__main__": 9}


def modules() -> dict:
    "dotted module name -> path, every module of the package but the generated index."
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        if p.name == "_modidx.py": continue
        rel = p.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__": parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def room(mod:str) -> str:
    parts = mod.split(".")
    if len(parts) == 1: return "__init__"
    return parts[1]


def resolve(mod:str, node:ast.ImportFrom, path:Path) -> str|None:
    "The absolute module an ImportFrom names (None: outside the package)."
    if node.level == 0:
        return node.module if (node.module or "").split(".")[0] == "false_labels" else None
    base = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports() -> list:
    "(module, imported module, names, line) for every import of a package module, function-level ones included."
    mods, out = modules(), []
    for mod, p in mods.items():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom):
                tgt = resolve(mod, node, p)
                if tgt is None: continue
                names = [a.name for a in node.names]
                # `from . import x` / `from .room import module`: the target is the module x when it is one
                subs = [f"{tgt}.{n}" for n in names if f"{tgt}.{n}" in mods]
                if subs: out += [(mod, s, [], node.lineno) for s in subs]
                else: out.append((mod, tgt, names, node.lineno))
            elif isinstance(node, ast.Import):
                out += [(mod, a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] == "false_labels"]
    return out


def test_modules_under_600_lines():
    big = {m: len(p.read_text().splitlines()) for m, p in modules().items()}
    assert not {m: n for m, n in big.items() if n > 600}


def test_public_functions_take_at_most_15_parameters():
    wide = []
    for mod, p in modules().items():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (not node.name.startswith("_") or node.name == "__init__"):
                a = node.args
                n = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) - int(bool(a.args) and a.args[0].arg in ("self", "cls"))
                if n > 15: wide.append(f"{mod}.{node.name}: {n}")
    assert not wide


def test_imports_point_down_and_no_private_names_cross_modules():
    bad, private = [], []
    for mod, tgt, names, line in imports():
        if tgt in (mod, "false_labels"): continue   # the package root: its version and folder
        a, b = room(mod), room(tgt)
        if a != b and LAYERS.get(b, 99) > LAYERS.get(a, -1): bad.append(f"{mod}:{line} imports {tgt} (layer {b} above {a})")
        if a != b and LAYERS.get(b, 99) == LAYERS.get(a, -1): bad.append(f"{mod}:{line} imports {tgt} (rooms of one layer)")
        private += [f"{mod}:{line} imports {tgt}.{n}" for n in names if n.startswith("_") and not n.startswith("__")]
    assert not bad
    assert not private


def test_no_import_circle():
    graph = defaultdict(set)
    for mod, tgt, _, _ in imports():
        if tgt != mod and tgt in modules(): graph[mod].add(tgt)
    seen, stack, cycles = set(), [], []
    def visit(m, path):
        if m in path: cycles.append(path[path.index(m):] + [m]); return
        if m in seen: return
        seen.add(m)
        for n in sorted(graph[m]): visit(n, path + [m])
    for m in sorted(graph): visit(m, [])
    assert not cycles


def test_one_name_for_one_job():
    "A public function or class name is defined in one module only (two `read_image`s were two readers for one job)."
    where = defaultdict(list)
    for mod, p in modules().items():
        for node in ast.parse(p.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                where[node.name].append(mod)
    assert not {n: ms for n, ms in where.items() if len(ms) > 1}


def export_cells_without_example() -> list:
    out = []
    for nb in sorted((ROOT/"nbs").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in nb.parts or "runs" in nb.parts: continue
        cells = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
        src = ["".join(c["source"]) for c in cells]
        def exported(s): return any(l.strip() in ("#| export", "#|export", "#| exports") for l in s.splitlines()[:3])
        for i, s in enumerate(src):
            if not exported(s): continue
            nxt = src[i + 1] if i + 1 < len(src) else ""
            # the example: the next code cell, not an export, not an import-only cell, not the hidden nbdev_export
            if not nxt or exported(nxt) or "nbdev_export" in nxt:
                first = next((l for l in s.splitlines()[1:] if l.strip() and not l.startswith("#")), "")
                out.append(f"{nb.relative_to(ROOT)}: {first[:60]}")
    return out


def test_every_export_cell_is_followed_by_an_example():
    assert not export_cells_without_example()


def _fresh(code:str) -> str:
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_the_driver_imports_no_torch():
    out = _fresh("import sys, false_labels.study.plan, false_labels.study.sweep, false_labels.study.engine\n"
                 "print(sorted({'torch', 'fastai', 'altair'} & set(sys.modules)))")
    assert out.strip() == "[]", out


def test_a_plain_training_run_needs_no_detection_stack():
    out = _fresh("import sys, false_labels.training.learner\n"
                 "print(sorted(m for m in sys.modules if m in ('altair', 'false_labels.detectors.pipeline', 'false_labels.methods.registry')))")
    assert out.strip() == "[]", out


def test_the_public_api_is_importable_from_the_top_without_torch():
    out = _fresh("import sys, false_labels as fl\n"
                 "print('torch' in sys.modules, len(fl.__all__))")
    assert out.split()[0] == "False", out
    import false_labels as fl
    for name in fl.__all__:
        assert getattr(fl, name) is not None, name
    from false_labels import generate_dataset, train_run, detect_in_memory, detect_labels, corrupt, run_sweep, write_report  # noqa

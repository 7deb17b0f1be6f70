"""Process each notebook exactly as the docs build does (nbdev's `FilterDefaults`: the cells it executes while
rendering, `show_doc`s and all), without Quarto, and report the notebooks that fail.

Quarto is not installable here, so `nbdev-docs` cannot run; this catches what would break the docs build in CI:
a cell that nbdev executes while rendering (it has an import, an export directive or a `show_doc`) but that needs
a variable made by a cell it does not execute. It also checks that the processing keeps the saved outputs (tables,
charts, images) of the cells it shows but does not execute, as the site shows those (`make docs` saves them).
Run: python tools/check_docs_exec.py [NOTEBOOK ...]   (default: every notebook under nbs/)
"""
import os, sys, warnings
from pathlib import Path

from fastcore.nbio import read_nb
from nbdev.processors import FilterDefaults


def _kinds(cell)->list: return sorted(k for o in cell.get("outputs", []) for k in (o.get("data") or {"stream": 0}))

def check(path)->str|None:
    "The error of processing `path` for the docs (or the saved outputs it dropped), or None."
    cwd = os.getcwd()
    os.chdir(Path(path).parent); os.environ["IN_TEST"] = "1"
    try:
        nb = read_nb(Path(cwd)/path)
        saved = {c.get("id"): _kinds(c) for c in nb.cells if c.cell_type == "code" and c.get("outputs")}
        FilterDefaults()(nb)
    except Exception as e: return f"{type(e).__name__}: {e}"[:600]
    finally: os.chdir(cwd); os.environ.pop("IN_TEST", None)
    lost = [f"{c.id} ({', '.join(saved[c.id])})" for c in nb.cells
            if c.cell_type == "code" and c.get("id") in saved and not set(saved[c.id]) <= set(_kinds(c)) | {"stream"}]
    return f"the docs processing dropped saved outputs of cell(s) {'; '.join(lost[:5])}" if lost else None


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    paths = sys.argv[1:] or sorted(str(p) for p in Path("nbs").rglob("*.ipynb") if ".ipynb_checkpoints" not in str(p))
    bad = 0
    for p in paths:
        err = check(p)
        bad += err is not None
        print(f"{'FAIL' if err else 'ok  '} {p}" + (f"\n     {err}" if err else ""), flush=True)
    sys.exit(1 if bad else 0)

"""Process each notebook exactly as the docs build does (nbdev's `FilterDefaults`: the cells it executes while
rendering, `show_doc`s and all), without Quarto, and report the notebooks that fail.

Quarto is not installable here, so `nbdev-docs` cannot run; this catches what would break the docs build in CI:
a cell that nbdev executes while rendering (it has an import, an export directive or a `show_doc`) but that needs
a variable made by a cell it does not execute.
Run: python tools/check_docs_exec.py [NOTEBOOK ...]   (default: every notebook under nbs/)
"""
import os, sys, warnings
from pathlib import Path

from fastcore.nbio import read_nb
from nbdev.processors import FilterDefaults


def check(path)->str|None:
    "The error of processing `path` for the docs, or None."
    cwd = os.getcwd()
    os.chdir(Path(path).parent); os.environ["IN_TEST"] = "1"
    try: FilterDefaults()(read_nb(Path(cwd)/path))
    except Exception as e: return f"{type(e).__name__}: {e}"[:600]
    finally: os.chdir(cwd); os.environ.pop("IN_TEST", None)


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    paths = sys.argv[1:] or sorted(str(p) for p in Path("nbs").rglob("*.ipynb") if ".ipynb_checkpoints" not in str(p))
    bad = 0
    for p in paths:
        err = check(p)
        bad += err is not None
        print(f"{'FAIL' if err else 'ok  '} {p}" + (f"\n     {err}" if err else ""), flush=True)
    sys.exit(1 if bad else 0)

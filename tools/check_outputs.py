#!/usr/bin/env python3
"""Fail when a notebook's saved outputs are missing or stale (part of `make test`).

    python tools/check_outputs.py [--root DIR]

`make docs` (tools/docs.py) records in nbs/.outputs.json, for every notebook it executed, a hash of its code cells,
the hashes of the `false_labels` modules the run imported, and the cells that had outputs. This check recomputes
them and names each notebook that
- is stale: one of its code cells, or the code of a module it imported, changed since it was executed (comments
  and blank lines in a module do not count);
- lost outputs: a cell that had outputs when executed has none now (cleared by hand or by a merge);
- is listed but gone, or (once a full `make docs` has succeeded, which sets `all_required`) was never executed.
Notebooks the record does not list are not checked until then. Each line says the command that fixes it.
"""
import argparse, json, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import docs  # noqa: E402  (tools/docs.py: the record's format and hashes live there)


def problems(root=docs.ROOT) -> list:
    "One line per notebook whose saved outputs are missing or stale (empty: all good)."
    root = Path(root); nbs = root/"nbs"; rec_path = nbs/".outputs.json"
    if not rec_path.exists(): return []
    rec = docs.read_json(rec_path)
    out = []
    for name, r in sorted(rec.get("notebooks", {}).items()):
        p = nbs/name
        fix = f"run `python tools/docs.py nbs/{name}`"
        if not p.exists(): out.append(f"nbs/{name}: listed in nbs/.outputs.json but gone; run `python tools/docs.py`"); continue
        nb = docs.read_json(p)
        why = []
        if docs.code_hash(nb) != r["code"]: why.append("its code cells changed")
        changed = [m for m, h in r["modules"].items() if docs.file_hash(docs.module_file(m, root)) != h]
        if changed: why.append("changed module(s): " + ", ".join(changed))
        if why: out.append(f"nbs/{name}: stale outputs ({'; '.join(why)}); {fix}"); continue
        have = set(docs.cells_with_outputs(nb))
        lost = [i for i in r["outputs"] if i not in have]
        if lost: out.append(f"nbs/{name}: {len(lost)} cell(s) lost their outputs ({' '.join(lost[:5])}); {fix}")
        elif not have and r["outputs"]: out.append(f"nbs/{name}: no outputs; {fix}")
    if rec.get("all_required"):
        listed = set(rec.get("notebooks", {}))
        for p in docs.docs_notebooks(nbs):
            name = p.relative_to(nbs).as_posix()
            if name not in listed: out.append(f"nbs/{name}: never executed for the docs; run `python tools/docs.py nbs/{name}`")
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=str(docs.ROOT), help="checkout to check (default: this one)")
    a = ap.parse_args()
    bad = problems(a.root)
    for line in bad: print(line)
    if len(bad) > 1: print("`make docs` (python tools/docs.py) re-executes every notebook, 2 at a time")
    rec = Path(a.root)/"nbs"/".outputs.json"
    n = len(docs.read_json(rec).get("notebooks", {})) if rec.exists() else 0
    print(f"check-outputs: {len(bad)} problem(s) in {n} executed notebook(s)" if bad else
          f"check-outputs: the saved outputs of {n} executed notebook(s) are fresh")
    sys.exit(1 if bad else 0)

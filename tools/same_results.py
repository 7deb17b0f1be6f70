#!/usr/bin/env python3
"""Are two output folders of false_labels the same results? (a refactor must not change a number)

    python tools/same_results.py BEFORE AFTER

Compares every file the two folders share, by kind: tables (.csv, .parquet) column by column, arrays (.npz, .npy)
bit for bit, JSON value by value, other files byte for byte; columns and keys that hold timings, versions, dates or
paths are left out (they differ between any two runs). Prints one line per difference and exits 1 if any."""
import json, math, sys
from pathlib import Path
import numpy as np
import pandas as pd

SKIP_KEYS = ("time", "seconds", "_s", "wall", "date", "versions", "version", "started", "finished", "host", "pid",
             "path", "dir", "data", "out", "sweep", "decided_at", "elapsed", "duration", "created", "hash", "python",
             "torch", "it_s", "speed", "throughput", "run_dir", "file", "folder", "dataset", "worker", "cost_vs_tracked_run", "ended", "notebook", "heartbeat", "updated", "template")
SKIP_FILES = (".false_labels", "model.pth", ".png", ".html", ".ipynb", "events.out", ".lock", "gallery", ".pth", "model_summary.txt", ".log")


def skipped(key:str) -> bool:
    k = str(key).lower()
    return any(k == s or k.endswith(s) or k.startswith(s) for s in SKIP_KEYS)


def same_json(a, b, where="") -> list:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            if skipped(k): continue
            if k not in a or k not in b: out.append(f"{where}/{k}: only in {'after' if k in b else 'before'}"); continue
            out += same_json(a[k], b[k], f"{where}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b): return [f"{where}: {len(a)} vs {len(b)} items"]
        return [d for x, y, i in zip(a, b, range(len(a))) for d in same_json(x, y, f"{where}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b): return []
    return [] if a == b else [f"{where}: {a!r} vs {b!r}"[:300]]


def same_table(a:pd.DataFrame, b:pd.DataFrame, where:str) -> list:
    out = []
    cols = [c for c in a.columns if not skipped(c)]
    if set(cols) != {c for c in b.columns if not skipped(c)}: out.append(f"{where}: columns {sorted(set(cols) ^ {c for c in b.columns if not skipped(c)})}")
    if len(a) != len(b): return out + [f"{where}: {len(a)} vs {len(b)} rows"]
    for c in cols:
        if c not in b.columns: continue
        x, y = a[c].reset_index(drop=True), b[c].reset_index(drop=True)
        if not x.equals(y) and not (x.astype(str) == y.astype(str)).all(): out.append(f"{where}: column {c} differs ({(x.astype(str) != y.astype(str)).sum()} rows)")
    return out


def compare(before:Path, after:Path) -> list:
    out, n = [], 0
    for fa in sorted(p for p in before.rglob("*") if p.is_file()):
        rel = fa.relative_to(before); fb = after/rel
        if any(s in fa.name for s in SKIP_FILES): continue
        if not fb.exists(): out.append(f"{rel}: missing after"); continue
        n += 1
        if fa.suffix == ".csv": out += same_table(pd.read_csv(fa), pd.read_csv(fb), str(rel))
        elif fa.suffix == ".parquet": out += same_table(pd.read_parquet(fa), pd.read_parquet(fb), str(rel))
        elif fa.suffix == ".json": out += same_json(json.loads(fa.read_text()), json.loads(fb.read_text()), str(rel))
        elif fa.suffix == ".npz":
            x, y = np.load(fa, allow_pickle=False), np.load(fb, allow_pickle=False)
            if set(x.files) != set(y.files): out.append(f"{rel}: arrays {sorted(set(x.files) ^ set(y.files))}")
            out += [f"{rel}: {k} differs" for k in x.files if k in y.files and not skipped(k) and not np.array_equal(x[k], y[k], equal_nan=True)]
        elif fa.suffix == ".npy":
            if not np.array_equal(np.load(fa), np.load(fb)): out.append(f"{rel}: differs")
        elif fa.read_bytes() != fb.read_bytes(): out.append(f"{rel}: bytes differ")
    print(f"{n} files compared")
    return out


if __name__ == "__main__":
    diffs = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    print("\n".join(diffs) if diffs else "the same results")
    sys.exit(1 if diffs else 0)

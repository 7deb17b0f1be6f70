"""Helpers shared by the benchmark scripts (run as `python bench/<name>.py`, so this folder is on sys.path)."""
import tempfile, time
from pathlib import Path

from false_labels.data.dataset import load_dataset


def bench_dataset(data, # an existing dataset folder, or None to generate one
                  n:int, size:int, # images and side of a generated one
                  folder=None, # where to generate (reused when already there); None: a new temporary folder
                  prefix:str="bench_"):
    "The benchmark's dataset: `data` when given, else a generated one (seed 0), timed."
    if data: return load_dataset(data)
    out = Path(folder or tempfile.mkdtemp(prefix=prefix))/f"data_{n}_{size}"
    if (out/"card.json").exists(): return load_dataset(out)
    from false_labels.data.generate import generate_dataset
    t = time.perf_counter()
    ds = generate_dataset(out, n=n, size=size, seed=0, progress=False, gallery=False)
    print(f"generated {ds} in {time.perf_counter() - t:.1f} s", flush=True)
    return ds

"""Learning curves for the CPU study recipe: clean test accuracy against training time on the 4-class task.

Each configuration (architecture, image size, images, epochs, optimiser, precision) trains one run through
`learn.train_run` (the same lifecycle `make study` runs, per-sample statistics included) at 0 % noise on a generated
dataset (seed 0, cached under /tmp), with the thread count a sweep worker gets (`--threads`, default 1: two
workers on two cores). Clean test accuracy after every epoch comes from the run's metrics.csv, so one run gives
the whole learning curve. The configurations alternate over seeds, so load changes hit all of them.

    python bench/bench_cpu_recipe.py [--threads 1] [--seeds 0 1] [--configs small_cnn:32:3000:10:adamw:fp32 ...]

A configuration is arch:size:n:epochs:opt:precision[:bs]. Default: the seed study recipe and the candidates.
"""
import argparse, os, statistics, tempfile, time
from pathlib import Path

import pandas as pd
import torch

from false_labels.training.learner import train_run
from false_labels.training.recipes import STUDY_RECIPE, Recipe

from common import bench_dataset

DEFAULT = ["small_cnn:32:3000:10:adamw:fp32:128",     # the seed study recipe (81.5 % on 2 cores)
           "small_cnn:32:3000:10:adamw:auto:128",
           "cpu_net:32:3000:10:adamw:auto:128",
           "cpu_net:32:3000:10:sgd:auto:128"]


def parse(c:str)->dict:
    p = c.split(":")
    r = dict(arch=p[0], size=int(p[1]), n=int(p[2]), epochs=int(p[3]), opt=p[4], precision=p[5])
    r["bs"] = int(p[6]) if len(p) > 6 else 128
    return r


def run(cfg:dict, seed:int, folder:Path)->dict:
    ds = bench_dataset(None, cfg["n"], cfg["size"], folder=folder)
    out = Path(tempfile.mkdtemp(prefix="recipe_", dir=folder))/"run"
    t, c = time.perf_counter(), time.process_time()
    res = train_run(ds, out, Recipe(cfg["arch"], cfg["epochs"], cfg["bs"], cfg["opt"], precision=cfg["precision"]), task=4, seed=seed,
                    device="cpu")
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    curve = pd.read_csv(out/"metrics.csv")["test_acc"].tolist()
    return dict(acc=res["final"]["test_acc"], wall=wall, cpu=cpu, train=res["train_time_s"], curve=curve, precision=res["precision"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--configs", nargs="+", default=None)
    ap.add_argument("--recipe", action="store_true", help="only learn.STUDY_RECIPE")
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 epochs, 600 images, one seed")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    r = STUDY_RECIPE
    study = f"{r['arch']}:{r['size']}:{r['n']}:{r['epochs']}:{r['opt']}:{r['precision']}:{r['bs']}"
    cfgs = [study] if a.recipe else (a.configs or DEFAULT + ([study] if study not in DEFAULT else []))
    cfgs = [parse(c) for c in cfgs]
    if a.quick:
        a.seeds = a.seeds[:1]
        for c in cfgs: c.update(epochs=2, n=600)
    folder = Path(tempfile.gettempdir())/"false_labels_bench_recipe"; folder.mkdir(exist_ok=True)
    print(f"threads {a.threads}, cores {os.cpu_count()}, load {os.getloadavg()}")
    res = {i: [] for i in range(len(cfgs))}
    for k, seed in enumerate(a.seeds):
        order = list(range(len(cfgs))) if k % 2 == 0 else list(range(len(cfgs)))[::-1]
        for i in order:
            x = run(cfgs[i], seed, folder); res[i].append(x)
            print(f"  seed {seed} {cfgs[i]} {x['precision']}: test acc {x['acc']:.4f} in {x['wall']:.1f} s (CPU {x['cpu']:.1f} s) "
                  f"(train {x['train']:.1f} s) curve {' '.join(f'{v:.3f}' for v in x['curve'])} load {os.getloadavg()[0]:.2f}",
                  flush=True)
    print("\nsummary (mean over seeds): config | clean test acc | run wall s")
    for i, c in enumerate(cfgs):
        accs, walls = [x["acc"] for x in res[i]], [x["wall"] for x in res[i]]
        print(f"  {c['arch']}:{c['size']}:{c['n']}:{c['epochs']}:{c['opt']}:{c['precision']}:{c['bs']} | "
              f"{statistics.mean(accs):.4f} | {statistics.mean(walls):.1f}")


if __name__ == "__main__":
    main()

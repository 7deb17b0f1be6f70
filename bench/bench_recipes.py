"""Which recipe at which size? (issue 24) Learning curves of the recipes of `training.recipes.RECIPES` on CIFAR-10 photos: the
first `per_class` JPEGs of each class of /work/cifar/train as the training folder, the first 100 per class of
/work/cifar/test as the test split, trained with `training.learner.train_run` exactly as `false-labels train --recipe NAME` does,
on the CPU. Prints the clean test accuracy, whether the run learned (`training.checks.learning_check`) and the wall time; the
table in `recipes` (auto's choice by size) follows these figures.

CPU: nice -n 10 python bench/bench_recipes.py --per-class 20,100,500 --recipes cpu_small,study,cpu_photo,classic
     nice -n 10 python bench/bench_recipes.py --per-class 1000 --recipes cpu_small,cpu_photo

Measured 2026-12-05 (2 cores, load 1.9-4.0 with one other job; test: 1,000 images, 100 a class), clean test accuracy
and wall time:
  200 photos     cpu_small 38.2 % (9 s)    study 14.0 % (did not learn)  cpu_photo 24.7 % (9 s)    classic 11.3 % (did not learn)
  1,000 photos   cpu_small 53.7 % (26 s)   study 45.5 % (10 s)           cpu_photo 40.7 % (32 s)   classic 10.2 % (did not learn)
  5,000 photos   cpu_small 72.9 % (118 s)  study 63.1 % (28 s)           cpu_photo 69.6 % (115 s)  classic 40.2 % (46 s)
  10,000 photos  cpu_small 77.8 % (234 s)                                cpu_photo 77.6 % (219 s)
So `training.recipes.auto_recipe` takes cpu_small below 10,000 photos (SMALL_PHOTOS) and cpu_photo from there.
"""
import argparse, os, tempfile, time
from pathlib import Path

import torch

from false_labels.data.formats import import_images
from false_labels.training.learner import train_run
from false_labels.training.recipes import RECIPES, auto_recipe


def folder(root:Path, per_class:int, test_per_class:int, work:Path)->Path:
    "A train/ and test/ folder of links to the first JPEGs of each class."
    out = work/f"cifar_{per_class}"
    if out.exists(): return out
    for split, k in (("train", per_class), ("test", test_per_class)):
        for c in sorted(p.name for p in (root/split).iterdir()):
            d = out/split/c; d.mkdir(parents=True)
            for f in sorted((root/split/c).iterdir())[:k]: os.symlink(f, d/f.name)
    return out

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", default="/work/cifar"); p.add_argument("--per-class", default="40,200")
    p.add_argument("--test-per-class", type=int, default=100); p.add_argument("--recipes", default="classic,cpu_small,cpu_photo")
    p.add_argument("--threads", type=int, default=2); p.add_argument("--work", default="/tmp/bench_recipes")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    work = Path(a.work); work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()}", flush=True)
    for k in [int(x) for x in a.per_class.split(",")]:
        ds = import_images(folder(Path(a.root), k, a.test_per_class, work), out=work/f"ds_{k}", size=32, overwrite=True, progress=False)
        n_train = int((ds.manifest.split == "train").sum())
        print(f"{k} per class: {n_train} training images; auto picks {auto_recipe('cpu', n_train, 32, 10)[0]}", flush=True)
        for name in a.recipes.split(","):
            t = time.perf_counter()
            r = train_run(ds, work/f"run_{k}_{name}", RECIPES[name], device="cpu", overwrite=True)
            print(f"  {name:10s} test acc {r['final']['test_acc']:.4f}  learned {r['learned']}  train loss "
                  f"{r['final']['train_loss']:.3f}  {time.perf_counter() - t:6.0f} s  load {os.getloadavg()[0]:.1f}"
                  + (f"  ({r['why']})" if not r["learned"] else ""), flush=True)

if __name__ == "__main__":
    main()

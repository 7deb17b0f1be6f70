"""What does a DivideMix epoch cost against a cross-entropy epoch on the same data and recipe? (issue 25: at most 8x.)

One process, side by side: for each precision, a cross-entropy epoch of `make_learner` and a DivideMix warm-up epoch
and co-divide epoch (two networks, the GMM pass, MixMatch) of `dividemix_learner` + `DivideMix`, each timed with its
validation pass, on the same loaders. 'bf16' is the CPU photo recipe's precision on a bf16 CPU (channels-last
networks); 'fp32' shows what the loop cost when it ran outside the run's precision.

    python bench/bench_dividemix_cost.py --data <an imported CIFAR-10N dataset folder> --labels worst
    python bench/bench_dividemix_cost.py --device cuda --data ... --bs 128 --arch resnet18_cifar     (GPU)

Measured: see the closing note of issue 25 and the DivideMix notebook.
"""
import argparse, os, time, warnings

import numpy as np
import torch
from fastai.callback.core import Callback

from false_labels.core import seed_everything
from false_labels.data.dataset import load_dataset
from false_labels.training.loaders import dataloaders
from false_labels.training.learner import make_learner
from false_labels.methods.dividemix import DivideMix, dividemix_learner


class EpochTimes(Callback):
    "Wall seconds of every epoch (training + validation)."
    order = 100
    def before_fit(self): self.times = []
    def before_epoch(self): self.t = time.perf_counter()
    def after_epoch(self): self.times.append(time.perf_counter() - self.t)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True); ap.add_argument("--labels", default="worst")
    ap.add_argument("--arch", default="cpu_net"); ap.add_argument("--bs", type=int, default=256)
    ap.add_argument("--device", default="cpu"); ap.add_argument("--precisions", default="bf16,fp32")
    ap.add_argument("--dm-bs", type=int, default=None, help="DivideMix's own batch (None: its default, the reference's 64)")
    ap.add_argument("--per-class", type=int, default=None, help="keep this many training images a class (None: all)")
    a = ap.parse_args(argv)
    print(f"load {os.getloadavg()[0]:.2f}, torch threads {torch.get_num_threads()}", flush=True)
    ds = load_dataset(a.data).with_labels(a.labels)
    dls = dataloaders(ds, task="label", bs=a.bs, device=a.device, augment=True, seed=0)
    print(f"{dls.train.n} training images, batch {a.bs}, {a.arch}", flush=True)
    rows = []
    for prec in a.precisions.split(","):
        seed_everything(0)
        t = EpochTimes(); learn = make_learner(dls, arch=a.arch, precision=prec)
        learn.fit(1, 1e-2, cbs=[t]); ce = t.times[0]
        seed_everything(0)
        t = EpochTimes(); learn = dividemix_learner(dls, arch=a.arch, precision=prec)
        dm = DivideMix(warmup=1, lambda_u=25, rampup=1, bs=a.dm_bs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            learn.fit(2, cbs=[dm, t])
        warm, div = t.times
        rows.append((prec, ce, warm, div))
        print(f"{prec}: CE epoch {ce:.1f} s | DivideMix warm-up {warm:.1f} s ({warm / ce:.1f}x) | "
              f"co-divide epoch {div:.1f} s ({div / ce:.1f}x CE) | steps {dm.steps}, load {os.getloadavg()[0]:.2f}", flush=True)
    if len(rows) > 1:
        (p0, ce0, _, d0), (p1, ce1, _, d1) = rows[:2]
        print(f"co-divide epoch {p1} / {p0}: {d1 / d0:.2f}x; CE epoch {p1} / {p0}: {ce1 / ce0:.2f}x")


if __name__ == "__main__": main()

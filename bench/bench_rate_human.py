"""How close is the default noise-rate estimate to the realised rate of real human noise? (issue 25: within 0.05 on
CIFAR-10N's aggre, random1 and worst.)

For each label set of an imported CIFAR-10N dataset (`false-labels import cifar/ --human CIFAR-10_human.pt`, or a
benchmark's data folder), the loaders carve the validation split exactly as a run does; the default estimate is then
the audit of those validation images (`NoiseInfo.audit`: given vs verified label) and the realised rate is that of the
training split. No model is trained. With --oof, the model-based estimators (gap, cl, incv) are read off cached
out-of-fold probabilities (bench_trust's `human10000_*` files) for contrast.

    python bench/bench_rate_human.py --data /tmp/bm10k/worst/data
    python bench/bench_rate_human.py --data <the 60,000-image import> --oof /tmp/bench_trust/oof
"""
import argparse
from pathlib import Path

import numpy as np

from false_labels.data.dataset import load_dataset
from false_labels.training.loaders import dataloaders


def model_based(oof:Path, label_set:str):
    "gap, cl and incv from bench_trust's cached out-of-fold probabilities of this label set (None if not cached)."
    f = next(iter(sorted(Path(oof).glob(f"human*_{label_set}_*.npz"))), None)
    if f is None: return None
    from false_labels.methods.shared import noise_rate_estimates
    z = np.load(f)
    clean_acc = float(np.mean([(p.argmax(1) == z["valid_labels"]).mean() for p in z["valid_probs"]]))
    est = noise_rate_estimates(z["probs"], z["given"], "sym", clean_acc)
    return float((z["given"] != z["truth"]).mean()), est


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True); ap.add_argument("--sets", default="aggre,random1,random2,random3,worst")
    ap.add_argument("--oof", default=None, help="bench_trust's oof cache folder (model-based estimators, for contrast)")
    a = ap.parse_args(argv)
    base = load_dataset(a.data)
    print(f"{base}: label sets {', '.join(base.label_set_names)}")
    print("| label set | training images | realised rate | audit (validation images) | 95 % interval | error |")
    print("|---|---|---|---|---|---|")
    worst = 0.0
    for name in a.sets.split(","):
        dls = dataloaders(base.with_labels(name), task="label", noise="sym", ratio=0, device="cpu", augment=False)
        info, au = dls.info, dls.info.audit()
        err = abs(au["rate"] - info.realised_ratio); worst = max(worst, err)
        print(f"| {name} | {len(info.ids)} | {info.realised_ratio:.3f} | {au['rate']:.3f} ({au['n']}) | "
              f"{au['lo']:.3f}-{au['hi']:.3f} | {err:.3f} |")
    print(f"largest error of the audit: {worst:.3f}")
    if a.oof:
        print("\nmodel-based estimators on cached out-of-fold probabilities (bench_trust, 7,000 training images, 2 folds):")
        for name in a.sets.split(","):
            r = model_based(a.oof, name)
            if r is None: continue
            real, est = r
            print(f"  {name}: realised {real:.3f} | " + " | ".join(f"{k} {v:.3f} (error {abs(v - real):.3f})" for k, v in est.items() if v is not None))


if __name__ == "__main__": main()

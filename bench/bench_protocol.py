"""The protocol where noise hurts (issue 14, phase 1): does plain cross-entropy memorise the noise, and do the methods
that keep the distrusted samples (ELR, Co-teaching+, DivideMix from `false_labels.survive`) survive it?

One generated 14-class dataset, one recipe without augmentation and with enough epochs to memorise. For every method
and noise ratio it prints, per epoch: the clean test accuracy, and on the corrupted training samples the share
predicted as their *given* (false) label (memorisation) and as their true label. Then best-epoch vs last-epoch test
accuracy, an oracle run (cross-entropy on the truly clean subset only: the ceiling of every dropping method), and
the issue's bars, measured side by side in this process:
  recovery  (best_method_last - ce_last) / (ce_0_last - ce_last) >= 0.70 at 40 % noise
  no harm   at 0 % noise no method is more than 1 point below plain CE (last epoch)

CPU:  python bench/bench_protocol.py --quick           (3,500 images at 32 px, small_cnn, 20 epochs)
GPU:  python bench/bench_protocol.py --device cuda --n 14000 --arch basic_cnn --epochs 40
The noise rate that Co-teaching+ needs is the realised one here (phase 1); DivideMix's lambda_u follows it too.
"""
import argparse, json, os, subprocess, time, warnings
from pathlib import Path

import numpy as np
import torch
from fastai.callback.core import Callback

from false_labels.core import seed_everything
from false_labels.data import NoisyDataLoaders, dataloaders, pick_device
from false_labels.learn import make_learner, predict_logits
from false_labels.survive import (CoTeachingPlus, CoTeachingPlusLoss, DivideMix, corrupted_by_id, default_init_epoch,
                                  default_lambda_u, default_warmup, dividemix_learner, elr_learner, plus_forget_schedule,
                                  twin_learner)

from common import bench_dataset

METHODS = ("ce", "oracle", "elr", "coteaching+", "dividemix")


class Probe(Callback):
    "After every epoch: clean test accuracy, and how the corrupted training samples are predicted."
    order = 90
    def __init__(self, dls):
        self.dls_, self.rows = dls, []
        self.eval_dl = dls.train.new(shuffle=False, augment=False, drop_last=False, bs=dls.valid.bs, with_ids=False)
        self.cor = torch.as_tensor(dls.info.corrupted, device=dls.device)
        self.true = torch.as_tensor(dls.info.true, device=dls.device)
    def after_epoch(self):
        test = self.dls_.test
        acc = float((predict_logits(self.learn, test).argmax(1) == test.labels).float().mean())
        pred = predict_logits(self.learn, self.eval_dl).argmax(1)
        given = self.eval_dl.labels
        row = dict(epoch=self.epoch, test_acc=acc, train_acc_given=float((pred == given).float().mean()))
        if self.cor.any():
            row["memorised"] = float((pred == given)[self.cor].float().mean())
            row["corrected"] = float((pred == self.true)[self.cor].float().mean())
        self.rows.append(row)


def recipe(args): return dict(arch=args.arch, opt=args.opt, lr=args.lr, wd=args.wd, precision="fp32")


def run(method, ds, ratio, args, dev):
    seed_everything(args.seed)
    dls = dataloaders(ds, task=14, noise=args.noise, ratio=ratio, seed=args.seed, bs=args.bs, device=dev, augment=False)
    info, E, cbs = dls.info, args.epochs, []
    rate = info.realised_ratio
    if method == "ce":
        learn = make_learner(dls, **recipe(args))
    elif method == "oracle":
        tr = dls.train
        keep = torch.as_tensor(~np.asarray(info.corrupted), device=tr.ids.device)
        sub = tr.new(ids=tr.ids[keep], labels=tr.labels[keep], true_labels=tr.true_labels[keep], drop_last=int(keep.sum()) > tr.bs)
        learn = make_learner(NoisyDataLoaders(sub, dls.valid, dls.test, info=info, path=dls.path, device=dls.device), **recipe(args))
    elif method == "elr":
        learn = elr_learner(dls, beta=args.elr_beta, lam=args.elr_lam, **recipe(args))
    elif method == "coteaching+":
        learn = twin_learner(dls, CoTeachingPlusLoss(), **recipe(args))
        cbs = [CoTeachingPlus(plus_forget_schedule(E, min(rate, 0.9), num_gradual=min(10, max(1, E // 3))),
                              init_epoch=default_init_epoch(E), corrupted_by_id=corrupted_by_id(info, dls.device))]
    elif method == "dividemix":
        learn = dividemix_learner(dls, arch=args.arch, precision="fp32")
        cbs = [DivideMix(warmup=args.dm_warmup if args.dm_warmup is not None else default_warmup(E),
                         lambda_u=default_lambda_u(args.noise, rate), rampup=max(1, round(16 * E / 300)),
                         lr=args.dm_lr, bs=args.dm_bs, asym=args.noise == "pair", seed=args.seed,
                         corrupted_by_id=corrupted_by_id(info, dls.device))]
    else: raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    probe = Probe(dls)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "dividemix": learn.fit(E, cbs=cbs + [probe])
        else: learn.fit_one_cycle(E, cbs=cbs + [probe])
    secs = time.perf_counter() - t
    rows = probe.rows
    accs = [r["test_acc"] for r in rows]
    res = dict(method=method, ratio=ratio, realised=rate, best=max(accs), best_epoch=int(np.argmax(accs)), last=accs[-1],
               memorised_last=rows[-1].get("memorised"), seconds=secs, rows=rows)
    extra = getattr(cbs[0], "log", None) if cbs else None
    if extra: res["method_log"] = extra[-1]
    return res


def show(res):
    print(f"\n== {res['method']} at {res['noise']} {res['ratio']:.0%} (realised {res['realised']:.3f}): "
          f"best {res['best']:.4f} (epoch {res['best_epoch']}), last {res['last']:.4f}, {res['seconds']:.0f} s", flush=True)
    print("epoch  test_acc  memorised  corrected  train_acc_given")
    for r in res["rows"]:
        print(f"{r['epoch']:5d}  {r['test_acc']:.4f}    {r.get('memorised', float('nan')):.4f}     "
              f"{r.get('corrected', float('nan')):.4f}     {r['train_acc_given']:.4f}")
    if res.get("method_log"): print("method log (last epoch):", res["method_log"])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data"); p.add_argument("--n", type=int, default=None, help="default 14,000 (--quick: 3,500)")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--arch", default=None, help="default basic_cnn (--quick: small_cnn)")
    p.add_argument("--epochs", type=int, default=None, help="default 40 (--quick: 20)")
    p.add_argument("--bs", type=int, default=128); p.add_argument("--opt", default="adamw"); p.add_argument("--lr", type=float, default=None)
    p.add_argument("--wd", type=float, default=0.0, help="weight decay (0: let CE memorise)")
    p.add_argument("--noise", default="sym"); p.add_argument("--ratios", default="0,0.4")
    p.add_argument("--methods", default=",".join(METHODS)); p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu"); p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default on CPU: 1; several threads spin-wait on a shared machine, 4x slower here)")
    p.add_argument("--elr-beta", type=float, default=0.7); p.add_argument("--elr-lam", type=float, default=3.0)
    p.add_argument("--dm-lr", type=float, default=0.02); p.add_argument("--dm-bs", type=int, default=64)
    p.add_argument("--dm-warmup", type=int, default=None)
    p.add_argument("--folder", default=None, help="where the generated dataset is kept (reused)")
    p.add_argument("--json", default=None, help="write all results here")
    p.add_argument("--quick", action="store_true", help="3,500 images at 32 px, small_cnn, 20 epochs")
    args = p.parse_args()
    for k, full, quick in (("n", 14000, 3500), ("arch", "basic_cnn", "small_cnn"), ("epochs", 40, 20)):
        if getattr(args, k) is None: setattr(args, k, quick if args.quick else full)
    dev = pick_device(args.device)
    if args.threads or dev.type == "cpu": torch.set_num_threads(args.threads or 1)
    print("machine:", os.cpu_count(), "cores;", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
          "| device", dev, flush=True)
    ds = bench_dataset(args.data, args.n, args.size, folder=args.folder or "/tmp/bench_protocol", prefix="bench_protocol_")
    ratios = [float(r) for r in args.ratios.split(",")]
    methods = args.methods.split(",")
    results = []
    for ratio in ratios:
        for m in methods:
            if m == "oracle" and ratio == 0: continue
            res = run(m, ds, ratio, args, dev); res["noise"] = args.noise
            show(res); results.append(res)
            print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)
    print("\n== summary (clean test accuracy)")
    print(f"{'method':12s} {'ratio':>6s} {'best':>7s} {'last':>7s} {'memorised':>9s}")
    for r in results:
        mem = r["memorised_last"]
        print(f"{r['method']:12s} {r['ratio']:6.2f} {r['best']:7.4f} {r['last']:7.4f} {'' if mem is None else f'{mem:9.4f}'}")
    last = {(r["method"], r["ratio"]): r["last"] for r in results}
    if ("ce", 0.0) in last:
        for ratio in [r for r in ratios if r > 0]:
            lost = last[("ce", 0.0)] - last.get(("ce", ratio), np.nan)
            others = {m: last[(m, ratio)] for m in methods if m not in ("ce", "oracle") and (m, ratio) in last}
            if others and lost > 0:
                best = max(others, key=others.get)
                print(f"recovery at {ratio:.0%}: CE loses {lost:.4f}; best {best} recovers "
                      f"{(others[best] - last[('ce', ratio)]) / lost:.2f} (bar 0.70)")
        for m in methods:
            if m not in ("ce", "oracle") and (m, 0.0) in last:
                print(f"no harm at 0 %: {m} {last[(m, 0.0)] - last[('ce', 0.0)]:+.4f} vs CE (bar >= -0.01)")
    if args.json: Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

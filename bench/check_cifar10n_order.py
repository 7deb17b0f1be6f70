"""Is the k-th CIFAR-10 JPEG of class c (ROOT/train/<c>/NNNN.jpg, numeric order) the k-th occurrence of c in
CIFAR-10N's clean_label (the order imports.attach_human_labels joins by)? A network trained on the clean labels of
a 5,000-JPEG subset predicts all 50,000 training JPEGs; on the images it gets wrong and whose human label is wrong,
its prediction equals the human label far more often in per-class order than with each class's order shuffled
(the class-level confusions that any order keeps set the shuffled baseline).

    python bench/check_cifar10n_order.py     (decodes 50,000 JPEGs, trains 5 epochs of cpu_net on 5,000: minutes on 2 idle cores)

Measured 2026-12-04 (2 shared cores, load 13-18, 2,123 s): accuracy 55.9 %; mislabelled and mispredicted, prediction
== worse_label 0.266 (9,781 images) vs 0.202-0.205 shuffled; == aggre_label 0.302 (2,587) vs 0.211-0.219 shuffled;
network wrong on worse-mislabelled images 0.487 vs 0.411 on the others (shuffled 0.447 vs 0.438).
"""
import os, sys, time, numpy as np, torch, cv2
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from bench_cifar import load_subset, subset_dataset
from false_labels.training.learner import make_learner, predict_logits
from false_labels.training.recipes import CPU_PHOTO_RECIPE
from false_labels.training.loaders import dataloaders
torch.set_num_threads(2)
t0 = time.time()
root = Path(sys.argv[1] if len(sys.argv) > 1 else '/work/cifar')
classes = sorted(p.name for p in (root/'train').iterdir())
files = [(ci, f) for ci, c in enumerate(classes) for f in sorted((root/'train'/c).iterdir(), key=lambda p: int(p.stem))]
X = np.stack([cv2.imread(str(f))[..., ::-1] for _, f in files]); Y = np.array([c for c, _ in files])
print('decoded', X.shape, time.time() - t0, flush=True)
d = torch.load(sys.argv[2] if len(sys.argv) > 2 else '/work/cifar10n/data/CIFAR-10_human.pt', weights_only=False)
clean, worse, aggre = (np.asarray(d[k]) for k in ('clean_label', 'worse_label', 'aggre_label'))
xtr, ytr, xte, yte, _ = load_subset(str(root), 500)
ds = subset_dataset(xtr, ytr, xte, yte, classes)
r = dict(CPU_PHOTO_RECIPE, epochs=5)
torch.manual_seed(0)
dls = dataloaders(ds, task='label', bs=r['bs'], device='cpu', seed=0, augment=True)
learn = make_learner(dls, r['arch'], r['loss'], opt=r['opt'], precision=r['precision'], loss_kw=r['loss_kw'])
learn.fit_one_cycle(r['epochs'])
print('trained', time.time() - t0, flush=True)
ds_all = subset_dataset(xtr, ytr, X, Y, classes)   # the 50,000 training JPEGs as the test split: predicted in order
dl2 = dataloaders(ds_all, task='label', bs=512, device='cpu', seed=0, augment=False)
P = predict_logits(learn, dl2.test).argmax(1).numpy()
assert len(P) == len(Y) and (dl2.test.labels.numpy() == Y).all()
print('predicted', time.time() - t0, flush=True)
for name, seed in (('per-class order', None), ('shuffled control 1', 1), ('shuffled control 2', 2)):
    m = np.empty(len(Y), np.int64); rng = np.random.default_rng(seed)
    for c in range(10):
        pos = np.flatnonzero(clean == c); m[Y == c] = pos if seed is None else rng.permutation(pos)
    for lab, L in (('worse', worse[m]), ('aggre', aggre[m])):
        mis, wrong = L != Y, P != Y
        sel = mis & wrong
        print(f"{name:20s} {lab}: {sel.sum():5d} images mislabelled AND mispredicted; prediction == human label {np.mean(P[sel] == L[sel]):.3f} "
              f"(chance among the 9 wrong classes 0.111); model wrong on mislabelled {wrong[mis].mean():.3f} vs on correctly labelled {wrong[~mis].mean():.3f}")

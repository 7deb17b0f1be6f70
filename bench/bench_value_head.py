"""Training-ValueNet's Monte-Carlo episodes: the 'mlp' head against the default 'linear' head, side by side.

Time (CPU, one thread) on random 512-d features (ResNet-sized), and AUROC of the Monte-Carlo values and of the final
predicted values against the corrupted mask on the toy features of `stats.synthetic_stats` (3 seeds).
Run: python bench/bench_value_head.py
"""
import os, time
import numpy as np, torch
from sklearn.metrics import roc_auc_score
from false_labels.arrays import synthetic_stats
from false_labels.detectors.value import mc_training_values, training_values

torch.set_num_threads(1)
print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} (1 min)")
rng = np.random.default_rng(0)
X, y = rng.normal(size=(1000, 512)).astype(np.float32), rng.integers(0, 4, 1000)
V, yv = rng.normal(size=(400, 512)).astype(np.float32), rng.integers(0, 4, 400)
t = {}
for head in ("linear", "mlp"):
    t0 = time.perf_counter(); mc_training_values(X, y, V, yv, 4, episodes=20, head=head); t[head] = time.perf_counter() - t0
print(f"512-d, 1000 samples, 400 val, 20 episodes: linear {t['linear']:.2f} s, mlp {t['mlp']:.2f} s, ratio {t['mlp'] / t['linear']:.1f}x")
for seed in (0, 1, 2):
    s = synthetic_stats(seed=seed)
    row = []
    for head in ("linear", "mlp"):
        r = training_values(s["features"], s["given"], s["val_features"], s["val_labels"], 4, episodes=16, lr=0.05,
                            train_per_class=150, val_per_class=50, seed=seed, head=head)
        row.append(f"{head}: MC AUROC {roc_auc_score(s['corrupted'][r.mc_index], -r.mc_values):.4f}, "
                   f"final AUROC {roc_auc_score(s['corrupted'], r.score):.4f}")
    print(f"toy seed {seed}: " + " | ".join(row))

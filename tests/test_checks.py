"Did it learn? Bad data and bad settings end with the one 'did not learn' line and exit 3, never a normal summary."
import json
import numpy as np
import pytest
from false_labels.cli import NO_LEARNING, main

C, SIDE = 4, 8
SPLITS = np.array(["train"] * 96 + ["valid"] * 32 + ["test"] * 48)

def _colour(y, rng, noise=20):
    "Images whose class is their colour: anything that looks at the pixels learns them."
    base = np.array([[230, 30, 30], [30, 230, 30], [30, 30, 230], [230, 230, 30]], np.int16)[np.asarray(y) % 4]
    im = base[:, None, None, :] + rng.integers(-noise, noise + 1, (len(y), SIDE, SIDE, 3))
    return im.clip(0, 255).astype(np.uint8)

def _labels(n=len(SPLITS)): return np.arange(n) % C

def _npz(path, images, labels, split=SPLITS):
    np.savez(path, images=images, labels=np.asarray(labels, np.int64), split=split, classes=np.array([f"c{i}" for i in range(C)]))
    return path

def make(kind, root):
    "The .npz of a bad-data case."
    rng, y = np.random.default_rng(0), _labels()
    n = len(y)
    if kind == "constant_black": return _npz(root/"x.npz", np.zeros((n, SIDE, SIDE, 3), np.uint8), y)
    if kind == "constant_grey": return _npz(root/"x.npz", np.full((n, SIDE, SIDE, 3), 128, np.uint8), y)
    if kind == "one_image_everywhere": return _npz(root/"x.npz", np.repeat(_colour([0], rng), n, 0), y)
    if kind == "uniform_noise": return _npz(root/"x.npz", rng.integers(0, 256, (n, SIDE, SIDE, 3), dtype=np.uint8), y)
    if kind == "gaussian_noise": return _npz(root/"x.npz", rng.normal(128, 40, (n, SIDE, SIDE, 3)).clip(0, 255).astype(np.uint8), y)
    if kind == "random_labels": return _npz(root/"x.npz", _colour(y, rng), rng.integers(0, C, n))
    if kind == "labels_swapped_in_test":        # the test split names every class by the next one
        given = np.where(SPLITS == "test", (y + 1) % C, y); return _npz(root/"x.npz", _colour(y, rng), given)
    if kind == "train_labels_shifted":         # every training label names the next class; the test split is right
        given = np.where(SPLITS == "train", (y + 1) % C, y); return _npz(root/"x.npz", _colour(y, rng), given)
    if kind == "single_class_test":             # a test split of one class: 100 % is what guessing it gives
        given = np.where(SPLITS == "test", 0, y); return _npz(root/"x.npz", _colour(np.where(SPLITS == "test", 0, y), rng), given)
    if kind == "majority_noise":                # 90 % one class, images that say nothing
        given = np.where(rng.random(n) < 0.9, 0, y); return _npz(root/"x.npz", rng.integers(0, 256, (n, SIDE, SIDE, 3), dtype=np.uint8), given)
    if kind == "test_is_noise":                 # train on colours, test on noise
        im = _colour(y, rng); im[SPLITS == "test"] = rng.integers(0, 256, ((SPLITS == "test").sum(), SIDE, SIDE, 3), dtype=np.uint8)
        return _npz(root/"x.npz", im, y)
    if kind == "one_image_per_class":
        split = np.array(["train"] * C + ["valid"] * C + ["test"] * C); yy = np.arange(3 * C) % C
        return _npz(root/"x.npz", _colour(yy, rng), yy, split)
    if kind == "two_test_images":
        split = SPLITS.copy(); split[np.flatnonzero(split == "test")[2:]] = "train"
        return _npz(root/"x.npz", _colour(y, rng), y, split)
    if kind == "good": return _npz(root/"x.npz", _colour(y, rng), y)
    raise KeyError(kind)

TINY = ["--arch", "small_cnn", "--epochs", "3", "--bs", "16", "--device", "cpu", "--quiet", "--seed", "0"]

CASES = [  # (id, data, extra options)
    ("constant_black", "constant_black", []),
    ("constant_grey", "constant_grey", []),
    ("one_image_everywhere", "one_image_everywhere", []),
    ("uniform_noise", "uniform_noise", []),
    ("gaussian_noise", "gaussian_noise", []),
    ("random_labels", "random_labels", []),
    ("labels_swapped_in_test", "labels_swapped_in_test", []),
    ("single_class_test", "single_class_test", []),
    ("majority_class_noise", "majority_noise", []),
    ("test_is_noise", "test_is_noise", []),
    ("one_image_per_class", "one_image_per_class", []),
    ("two_test_images", "two_test_images", []),
    ("lr_1e6", "good", ["--lr", "1e6"]),
    ("lr_1e4", "good", ["--lr", "1e4"]),
    ("method_ce_lr_1e4", "good", ["--lr", "1e4", "--method", "ce"]),
    ("train_labels_shifted", "train_labels_shifted", []),
    ("constant_with_gce", "constant_black", ["--method", "gce"]),
    ("random_labels_with_sce", "random_labels", ["--method", "sce"]),
    ("noise_with_label_smoothing", "uniform_noise", ["--loss", "ls"]),
    ("bs_100000_one_epoch", "good", ["--bs", "100000", "--epochs", "1"]),
    ("gce_lr_1e6", "good", ["--method", "gce", "--lr", "1e6"]),
    ("constant_resnet18_1e5", "constant_grey", ["--arch", "resnet18", "--lr", "1e5", "--epochs", "1"]),
]

@pytest.mark.parametrize("cid,kind,extra", CASES, ids=[c[0] for c in CASES])
def test_bad_data_ends_with_did_not_learn(cid, kind, extra, tmp_path, capsys, one_thread):
    data = make(kind, tmp_path)
    rc = main(["train", "--data", str(data), "--out", str(tmp_path/"run"), *TINY, *extra])
    cap = capsys.readouterr()
    assert rc == NO_LEARNING, f"exit {rc}\n{cap.out}\n{cap.err[-2000:]}"
    last = cap.err.strip().splitlines()[-1]
    assert last.startswith("false-labels train: did not learn: ") and "; try " in last, last
    assert "accuracy" not in cap.out, cap.out          # never the normal summary
    res = json.loads((tmp_path/"run"/"result.json").read_text())
    assert res["learned"] is False and res["why"] and res["learning_check"]["n_held_out"] >= 0

def test_a_run_that_learns_passes(tmp_path, capsys, one_thread):
    rc = main(["train", "--data", str(make("good", tmp_path)), "--out", str(tmp_path/"run"), *TINY])
    cap = capsys.readouterr()
    assert rc == 0 and "did not learn" not in cap.err and "accuracy" in cap.out, cap.err[-2000:]
    res = json.loads((tmp_path/"run"/"result.json").read_text())
    assert res["learned"] is True and res["memorisation"] is None and "peaked" not in cap.out

# the shape of cross-entropy on CIFAR-10N's worst labels at 60 epochs (bench/benchmark_cpu_cifar10n_10k.md): 61.0 % at its peak, 57.0 % at the end
FELL = [0.29, 0.42, 0.50, 0.55, 0.58, 0.60, 0.61, 0.605, 0.60, 0.59, 0.585, 0.58, 0.575, 0.572, 0.57]

def test_memorisation_reads_a_peak_then_a_fall():
    from false_labels.training.checks import memorisation, memorisation_line
    m = memorisation(FELL, 10_000)
    assert m["peak_epoch"] == 6 and abs(m["fall"] - 0.04) < 1e-9 and m["threshold"] == 0.02
    assert memorisation(FELL, 100) is None                            # 4 points on 100 images: chance
    assert memorisation(FELL[:7], 10_000) is None                     # it still rises at the end
    assert memorisation(FELL, 10_000, min_fall=0.05) is None
    assert "peaked at 61.0% (epoch 6) and ended at 57.0%" in memorisation_line(m)

def test_train_says_when_its_test_accuracy_fell(tmp_path, capsys, monkeypatch):
    "The note follows the summary of a run whose result says it fell; a run without one prints none."
    from false_labels.methods import registry
    from false_labels.training.checks import memorisation
    def fake(data, out, **kw):
        return dict(final=dict(test_acc=FELL[-1], test_macro_f1=0.56), learned=True, labels=None, realised_ratio=0.4,
                    n_corrupted=40, memorisation=memorisation(FELL, 10_000) if kw.get("seed") == 1 else None)
    monkeypatch.setattr(registry, "train_method", fake)
    data = make("good", tmp_path)
    for seed, said in ((1, True), (2, False)):
        rc = main(["train", "--data", str(data), "--out", str(tmp_path/f"run{seed}"), *TINY, "--seed", str(seed)])
        out = capsys.readouterr().out
        assert rc == 0 and ("note: test accuracy peaked at 61.0% (epoch 6) and ended at 57.0%, 4.0 points lower" in out) == said, out

def test_allow_no_learning_accepts_it(tmp_path, capsys, one_thread):
    rc = main(["train", "--data", str(make("constant_black", tmp_path)), "--out", str(tmp_path/"run"), *TINY, "--allow-no-learning"])
    cap = capsys.readouterr()
    assert rc == 0 and "did not learn" in cap.err and "accuracy" in cap.out

def test_a_huge_batch_does_not_scale_the_lr_past_sense(tmp_path, capsys, one_thread):
    "bs 100000 on 96 training images: the batch is the data, so the SGD rate stays that of a batch of 96."
    main(["train", "--data", str(make("good", tmp_path)), "--out", str(tmp_path/"run"), *TINY, "--bs", "100000", "--allow-no-learning", "--recipe", "classic"])
    p = json.loads((tmp_path/"run"/"params.json").read_text())
    assert p["opt"] == "sgd" and p["lr"] <= 0.1 * 96 / 256 + 1e-9, p["lr"]

def test_a_sweep_counts_runs_that_learned_nothing_apart_from_failures(tmp_path, capsys, one_thread):
    sw = tmp_path/"sweep"
    argv = ["sweep", "--data", str(make("constant_black", tmp_path)), "--out", str(sw), "--ratios", "0", "--seeds", "1",
            "--arch", "small_cnn", "--epochs", "2", "--bs", "16", "--device", "cpu", "--jobs", "0"]
    rc = main(argv)
    cap = capsys.readouterr()
    assert rc == NO_LEARNING, cap.err[-2000:]
    assert "1 done run learned nothing (not failures" in cap.out and "0 failed" not in cap.out.split("this time")[0]
    assert "1 of 1 runs learned nothing" in cap.err.strip().splitlines()[-1]
    from false_labels.study.analysis import load_results
    df = load_results(sw, warn=False)
    assert len(df) == 1 and [r["run_id"] for r in df.attrs["no_learning"]] == [df.run_id[0]]
    assert main(argv + ["--allow-no-learning"]) == 0           # resumed: nothing to run, the learned-nothing run accepted

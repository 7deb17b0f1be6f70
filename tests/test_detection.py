"""false_labels.detectors.pipeline: the trainer-driven half of label-error detection (CPU, tiny data, small_cnn).

One full `detect_labels` run (every method, charts, folders) is shared by several tests; the others train a few
two-epoch models on 16 px images of three colour classes.
"""
import json
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings, strategies as st

from false_labels.detectors import registry as D, dynamics as DY
from false_labels import arrays as S
from false_labels.core import OutputExistsError
from false_labels.training.loaders import dataloaders
from false_labels.data.dataset import Dataset
from false_labels.detectors.pipeline import METHODS, detect_labels, parse_methods
from false_labels.detectors.cl import cleanlab_detection
from false_labels.data.labels import corrupted_train_labels
from false_labels.noise.spec import NoiseSpec
from false_labels.detectors.sweep import detect_sweep, detection_results, find_run
from false_labels.training.kfold import FitPredict, IterationTracker, extract_features, make_fit_predict, pack_observations
from false_labels.training.learner import make_model, train_run
from false_labels.study.report import detection_section, detection_table
from toys import colour_toy

TINY = dict(task="label", arch="small_cnn", epochs=2, bs=32, device="cpu", allow_no_learning=True)


pytestmark = pytest.mark.usefixtures("one_thread")


toy = colour_toy


@pytest.fixture(scope="module")
def ds(): return toy()


@pytest.fixture(scope="module")
def fp(ds): return make_fit_predict(ds, task="label", arch="small_cnn", epochs=2, bs=32, device="cpu", seed=1,
                                     precision="fp32")  # exact comparisons with a plain fp32 forward pass


@pytest.fixture(scope="module")
def full(ds, tmp_path_factory):
    "Every method, charts and folders at 20 % symmetric noise."
    out = tmp_path_factory.mktemp("det")/"out"
    ev = detect_labels(ds, out, ratio=0.2, seed=0, folds=2, tv_kw=dict(episodes=20), folders=True, **TINY)
    return SimpleNamespace(out=out, ev=ev, npz=dict(np.load(out/"detection_stats.npz")),
                           sus=pd.read_csv(out/"suspects.csv"), params=json.loads((out/"params.json").read_text()))


# ---------------------------------------------------------------------------------------------------------------
# the trainer
def test_fit_predict_probs_are_distributions_and_reproducible(fp):
    tr, ev = np.arange(0, 120), np.arange(120, 200)
    p = fp(tr, ev)
    assert p.shape == (80, 3) and (p >= 0).all()
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-5)
    np.testing.assert_array_equal(fp(tr, ev), p)                      # same training set, same model (CPU)
    assert (p.argmax(1) == fp.given[ev]).mean() > 0.8                  # it learnt the colours
    assert not np.array_equal(fp(np.arange(1, 120), ev), p)           # another training set, another model


def test_train_uses_exactly_the_requested_samples_and_labels(fp):
    idx = np.array([3, 50, 7, 199, 120])
    labels = np.roll(fp.given, 1)
    learn = fp.train(idx, labels=labels, epochs=1)
    tr = learn.dls.train
    np.testing.assert_array_equal(tr.ids.cpu().numpy(), fp.ids[idx])
    np.testing.assert_array_equal(tr.labels.cpu().numpy(), labels[idx])
    assert tr.shuffle and tr.augment


def test_out_of_fold_probs_come_from_models_that_never_saw_the_sample(fp):
    calls = []
    def recording(train_idx, eval_idx, save_best=False):
        calls.append((np.asarray(train_idx), np.asarray(eval_idx)))
        return fp(train_idx, eval_idx, save_best)
    oof = S.out_of_fold_probs(recording, fp.given, folds=2, seed=0)
    assert oof.shape == (fp.n, 3)
    np.testing.assert_allclose(oof.sum(1), 1, atol=1e-5)
    seen = np.concatenate([e for _, e in calls])
    np.testing.assert_array_equal(np.sort(seen), np.arange(fp.n))      # every sample predicted exactly once
    for tr, ev in calls:
        assert not np.intersect1d(tr, ev).size                       # ... by a model that never trained on it
        np.testing.assert_array_equal(oof[ev], fp(tr, ev))           # ... and it is that model's prediction


def test_save_best_keeps_the_best_epoch_on_the_eval_samples(fp):
    ev = np.arange(150, fp.n)
    learn = fp.train(np.arange(150), best_on=ev, epochs=3)
    hist = learn.best_epochs
    assert len(hist["accuracy"]) == 3 and hist["best"] == max(hist["accuracy"])
    acc = (fp.predict(learn, ev).argmax(1) == fp.given[ev]).mean()
    assert acc == pytest.approx(hist["best"], abs=1e-6)


def test_extract_features_is_the_input_of_the_last_linear_layer(fp):
    learn = fp.train(np.arange(60), epochs=1)
    dl = fp.loader(np.arange(20))
    f = extract_features(learn, dl)
    assert f.shape == (20, 64) and f.dtype == np.float32
    model = learn.raw_model.eval()
    with torch.no_grad(): ref = torch.cat([model[:-1](b[0]) for b in dl]).numpy()
    np.testing.assert_allclose(f, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fp.features(learn, np.arange(20)), f)
    assert extract_features(make_model("resnet18", 3), dl).shape == (20, 512)
    with pytest.raises(ValueError, match="has no nn.Linear layer"): extract_features(torch.nn.Conv2d(3, 3, 1), dl)


def test_index_errors(fp):
    with pytest.raises(ValueError, match=r"eval_idx\[1\] = 9999 is not a position in the training split"): fp([0, 1], [2, 9999])
    with pytest.raises(ValueError, match="train_idx is empty"): fp.train(np.array([], int))
    with pytest.raises(ValueError, match="given labels has 3 entries"): fp.with_labels([0, 1, 2])
    with pytest.raises(ValueError, match="unknown arch 'vgg'"): FitPredict(fp.dls, arch="vgg")


def test_trainer_options_are_make_learners(fp):
    "FitPredict's model options are `make_learner`'s (delegated, documented once); make_fit_predict passes them on."
    from inspect import signature
    from false_labels.training.learner import make_learner
    from false_labels.training.kfold import RECIPE
    assert set(fp.kw) == set(RECIPE) and fp.kw["arch"] == "small_cnn" and fp.kw["opt"] == "sgd" and fp.kw["lr"] is None
    assert set(RECIPE) <= set(signature(FitPredict).parameters) and set(RECIPE) <= set(signature(make_fit_predict).parameters)
    assert signature(FitPredict).parameters["opt"].default == signature(make_learner).parameters["opt"].default
    with pytest.raises(TypeError, match="unexpected keyword argument.*'colour'"): FitPredict(fp.dls, colour="red")
    assert FitPredict(fp.dls, arch="small_cnn", opt="adamw", wd=0.1).kw["wd"] == 0.1


# ---------------------------------------------------------------------------------------------------------------
# per-iteration tracking
@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=60), st.integers(7, 9))
def test_pack_observations_keeps_each_samples_order(pos, n):
    vals = np.arange(len(pos), dtype=np.float32)
    P = pack_observations(pos, vals, n)
    for i in range(n):
        mine = [v for p, v in zip(pos, vals) if p == i]
        col = P[:, i]
        np.testing.assert_array_equal(col[:len(mine)], mine)
        assert np.isnan(col[len(mine):]).all()


def test_tracker_sees_every_sample_each_epoch_and_matches_dense_ema(fp):
    tr = IterationTracker(fp.positions)
    fp.train(cbs=[tr], drop_last=False, epochs=3)
    obs = tr.observations()
    np.testing.assert_array_equal(np.bincount(obs["pos"], minlength=fp.n), np.full(fp.n, 3))
    L = pack_observations(obs["pos"], obs["loss"], fp.n)
    dense = np.full((obs["step"].max() + 1, fp.n), np.nan)
    dense[obs["step"], obs["pos"]] = obs["loss"]
    np.testing.assert_allclose(DY.ema_loss(L), DY.ema_loss(dense), rtol=1e-9)
    M = pack_observations(obs["pos"], obs["margin"], fp.n)
    np.testing.assert_allclose(DY.aum(M), np.nanmean(M, 0), rtol=1e-6)
    assert (obs["loss"] >= 0).all() and np.isfinite(obs["margin"]).all()


def test_corrupted_labels_are_those_the_training_runs_see(ds):
    for kind, kw in (("sym", {}), ("pair", {})):
        info = dataloaders(ds, task="label", noise=kind, ratio=0.3, seed=5, bs=32, device="cpu", **kw).info
        np.testing.assert_array_equal(corrupted_train_labels(ds, NoiseSpec(kind, 0.3, seed=5, **kw), "label"), info.given)


# ---------------------------------------------------------------------------------------------------------------
# detect_labels
OUTPUTS = ["evaluation.csv", "suspects.csv", "clean_ids.txt", "dirty_ids.txt", "params.json", "detection_stats.npz",
           "charts/gallery.png"] + [f"charts/{c}.{e}" for c in ("ema_curves", "ema_curves_by_class", "score_histograms", "pr_curves")
                                    for e in ("png", "svg", "json")]

def test_detect_labels_writes_every_output(full, ds):
    for f in OUTPUTS: assert (full.out/f).is_file() and (full.out/f).stat().st_size > 0, f
    assert not [p for p in full.out.parent.iterdir() if p.name.startswith(".")]      # no partial folder left
    json.loads((full.out/"charts"/"pr_curves.json").read_text())
    n = len(ds.split_idx("train"))
    clean = np.loadtxt(full.out/"clean_ids.txt", dtype=int, ndmin=1); dirty = np.loadtxt(full.out/"dirty_ids.txt", dtype=int, ndmin=1)
    assert len(clean) + len(dirty) == n and not np.intersect1d(clean, dirty).size
    pngs = {p.stem: p for p in full.out.glob("*/*/*.png") if p.parts[-3] in ("clean", "dirty")}
    assert len(pngs) == n
    for p in list(pngs.values())[:5]:
        i = int(p.stem)
        np.testing.assert_array_equal(cv2.imread(str(p))[..., ::-1], ds.images[i])
        assert p.parent.name == ds.classes("label")[full.npz["given"][full.npz["ids"] == i][0]]
    assert {p.parent.parent.name + "/" + p.name for p in pngs.values() if p.parent.parent.name == "dirty"} == {f"dirty/{i}.png" for i in dirty}
    assert full.params["versions"]["torch"] and full.params["trainings"] == 1 + 2 + 2 + 8


def test_evaluation_has_a_row_per_method_and_the_cleanlab_cross_check(full):
    ev = full.ev.set_index("method")
    assert set(ev.index) == set(METHODS) | {"cleanlab"}
    assert ev.loc["cl", "probs"] == ev.loc["cleanlab", "probs"]
    assert ev.loc["cl", "probs"].startswith("out-of-fold (2 folds) + INCV held-out")     # pooled by default
    np.testing.assert_array_equal(full.npz["flagged_cl"], full.npz["flagged_cleanlab"])   # ours matches cleanlab
    truth = full.npz["corrupted"]
    assert truth.sum() == round(0.2 * len(truth)) and (ev["k"] == truth.sum()).all()
    for m in ev.index:                                           # the CSV says what the arrays say
        r = D.evaluate_detection(full.npz[f"score_{m}"], truth, full.npz[f"flagged_{m}"])
        for key in ("precision_at_k", "recall_at_k", "auroc", "auprc", "precision", "recall", "f1"):
            assert ev.loc[m, key] == pytest.approx(r[key], nan_ok=True), (m, key)
    assert (ev[["trainings"]].loc[["aum", "cl", "incv"]].to_numpy().ravel() == [2, 2, 8]).all()


def test_the_pipeline_actually_detects(full):
    ev = full.ev.set_index("method")
    assert ev["auroc"].max() > 0.9, ev["auroc"]
    assert (ev["auroc"] > 0.7).mean() >= 0.75, ev["auroc"]                 # most methods, not one lucky one
    assert ev.loc["ensemble", "precision_at_k"] > 0.7


def test_suspects_line_up_with_ids(full, ds):
    s, z = full.sus, full.npz
    assert list(s["rank"]) == list(range(1, len(s) + 1)) and sorted(s["id"]) == sorted(z["ids"])
    pos = {int(i): k for k, i in enumerate(z["ids"])}
    k = s["id"].map(pos).to_numpy()
    for m in full.params["methods"]:
        np.testing.assert_allclose(s[f"score_{m}"], z[f"score_{m}"][k])
        np.testing.assert_array_equal(s[f"flagged_{m}"], z[f"flagged_{m}"][k])
    assert (np.diff(s["score_ensemble"]) <= 0).all()                       # most suspicious first
    np.testing.assert_array_equal(s["true"], ds.labels("label")[s["id"]])
    np.testing.assert_array_equal(s["corrupted"], s["true"] != s["given"])
    np.testing.assert_array_equal(s["given_class"], np.array(ds.classes("label"))[s["given"]])
    np.testing.assert_array_equal(s["predicted"], z["pooled_probs"][k].argmax(1))
    dirty = set(np.loadtxt(full.out/"dirty_ids.txt", dtype=int, ndmin=1))
    assert dirty == set(s["id"][s["flagged_ensemble"]]) and full.params["selected"] == "ensemble"


def test_sharper_detection_defaults(full):
    "Held-out predictions pooled before confident learning, the ensemble cut at the noise estimate, AUM and INCV as documented."
    z, p, ev = full.npz, full.params, full.ev.set_index("method")
    n = len(z["ids"])
    cnt = z["incv_heldout_count"].astype(float)
    assert (cnt >= 1).all()
    np.testing.assert_allclose(z["pooled_probs"], (z["oof_probs"] + z["incv_heldout_probs"] * cnt[:, None]) / (1 + cnt)[:, None], atol=1e-5)
    np.testing.assert_allclose(z["score_cl"], 1 - z["pooled_probs"][np.arange(n), z["given"]], atol=1e-5)   # CL used the pooled ones
    np.testing.assert_allclose(z["score_incv"], z["incv_last_ce"])                     # INCV scored at each sample's last evaluation
    est, cut = p["noise_estimates"], p["ensemble_noise_rate"]
    assert set(est) == {"gap", "cl", "incv"} and cut["estimator"] == "gap" and cut["rate"] == est["gap"]
    assert z["flagged_ensemble"].sum() == round(cut["rate"] * n) == ev.loc["ensemble", "n_flagged"]
    top = np.argsort(-z["score_ensemble"], kind="stable")[:round(cut["rate"] * n)]
    assert z["flagged_ensemble"][top].all()
    assert "every run" in ev.loc["aum", "cut"] and "top" in ev.loc["ensemble", "cut"]
    assert p["pool_probs"] is True and p["ensemble_cut"] == "rate" and p["aum_schedule"] == "one_cycle" and p["incv_score"] == "last"

def test_flat_cos_schedule_holds_the_rate_before_annealing(fp):
    from fastai.callback.core import Callback
    class Rates(Callback):
        def before_fit(self): self.lrs = []
        def after_batch(self):
            if self.training: self.lrs.append(self.opt.hypers[-1]["lr"])
    r = Rates()
    fp.train(cbs=[r], epochs=4, schedule="flat_cos")
    lrs, flat = np.array(r.lrs), int(0.75 * len(r.lrs))
    assert np.allclose(lrs[:flat], lrs[0]) and lrs[-1] < lrs[0] / 10 and (np.diff(lrs[flat:]) <= 0).all()
    r2 = Rates(); fp.train(cbs=[r2], epochs=4)                                             # one-cycle: warms up, then anneals
    assert r2.lrs[0] < max(r2.lrs) / 10
    with pytest.raises(ValueError, match="unknown schedule 'step'; valid: one_cycle, flat_cos"): fp.train(schedule="step")

def test_sharper_options_fail_before_any_training(ds, tmp_path):
    for kw, msg in [(dict(ensemble_cut="median"), "unknown ensemble_cut 'median'; valid: rate, gmm, vote"),
                    (dict(noise_estimator="oracle"), "unknown noise_estimator 'oracle'; valid: auto, audit, gap, test, cl, incv"),
                    (dict(aum_schedule="step"), "unknown aum_schedule 'step'; valid: one_cycle, flat_cos"),
                    (dict(incv_score="best"), "unknown incv_score 'best'; valid: first, last")]:
        with pytest.raises(ValueError, match=msg): detect_labels(ds, tmp_path/"x", **dict(TINY, **kw))
        with pytest.raises(ValueError, match=msg): detect_sweep(ds, tmp_path/"s", ratios=[0.2], **dict(TINY, **kw))
    assert not (tmp_path/"x").exists() and not (tmp_path/"s").exists()

def test_the_other_choices_stay_available(ds, tmp_path):
    ev = detect_labels(ds, tmp_path/"old", ratio=0.2, method="ensemble", folds=2, tv_kw=dict(episodes=5), charts=False,
                       pool_probs=False, ensemble_cut="vote", aum_schedule="flat_cos", incv_score="first", **TINY).set_index("method")
    z = dict(np.load(tmp_path/"old"/"detection_stats.npz"))
    assert ev.loc["ensemble", "cut"] == "majority vote" and ev.loc["cl", "probs"] == "out-of-fold (2 folds)"
    np.testing.assert_allclose(z["score_incv"], z["incv_first_ce"])
    n = len(z["ids"])
    np.testing.assert_allclose(z["score_cl"], 1 - z["oof_probs"][np.arange(n), z["given"]], atol=1e-5)

def _write_csv(path, ids, labels, names):
    pd.DataFrame(dict(id=ids, label=np.array(names)[labels])).to_csv(path, index=False)


def test_real_noisy_labels_from_csv(ds, tmp_path):
    tr, names = ds.split_idx("train"), ds.classes("label")
    noisy = corrupted_train_labels(ds, NoiseSpec("pair", 0.25, seed=2), "label")
    _write_csv(tmp_path/"noisy.csv", tr[::-1], noisy[::-1], names)            # order in the file does not matter
    _write_csv(tmp_path/"clean.csv", tr, ds.labels("label")[tr], names)
    ev = detect_labels(ds, tmp_path/"a", labels_csv=tmp_path/"noisy.csv", clean_labels_csv=tmp_path/"clean.csv",
                       method="ema,cl", folds=2, charts=False, **TINY)
    p = json.loads((tmp_path/"a"/"params.json").read_text())
    assert p["scored"] and p["n_corrupted"] == (noisy != ds.labels("label")[tr]).sum() and p["ratio"] is None
    assert p["labels"]["given"].startswith("csv") and ev["auroc"].notna().all()
    np.testing.assert_array_equal(np.load(tmp_path/"a"/"detection_stats.npz")["given"], noisy)
    with pytest.warns(UserWarning):                                       # no truth: not scored, and said
        ev2 = detect_labels(ds, tmp_path/"b", labels_csv=tmp_path/"noisy.csv", method="ema", charts=["json"], **TINY)
    assert ev2["note"].eq("no truth: not scored").all() and "f1" not in ev2
    p2 = json.loads((tmp_path/"b"/"params.json").read_text())
    assert not p2["scored"] and any("no truth" in n for n in p2["notes"])
    assert (tmp_path/"b"/"suspects.csv").exists() and "true" not in pd.read_csv(tmp_path/"b"/"suspects.csv")
    assert (tmp_path/"b"/"charts"/"ema_curves.json").exists() and not (tmp_path/"b"/"charts"/"pr_curves.json").exists()


def test_image_folder_labels_csv_keyed_by_path(tmp_path):
    d = toy(n=150, seed=4)
    y, split = d.labels("label"), d.manifest["split"].to_numpy()
    rows = []
    for i in range(len(d)):
        rel = Path(split[i])/d.classes("label")[y[i]]/f"{i}.png"
        (tmp_path/"img"/rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path/"img"/rel), d.images[i][..., ::-1])
        if split[i] == "train": rows.append((rel.as_posix(), d.classes("label")[(y[i] + 1) % 3 if i % 5 == 0 else y[i]]))
    pd.DataFrame(rows, columns=["path", "label"]).to_csv(tmp_path/"given.csv", index=False)
    ev = detect_labels(tmp_path/"img", tmp_path/"out", task="label", labels_csv=tmp_path/"given.csv",
                       clean_labels_csv="dataset", method="cl", folds=2, charts=False, folders=True, flag_without_evidence=True,
                       **{k: v for k, v in TINY.items() if k != "task"})
    s = pd.read_csv(tmp_path/"out"/"suspects.csv")
    assert not s["file"].str.startswith("test/").any() and s["file"].str.startswith("valid/").any()  # train+valid scored, test held out
    assert s["corrupted"].sum() == sum(1 for r in rows if int(r[0].split("/")[-1][:-4]) % 5 == 0)
    assert ev.set_index("method").loc["cl", "auroc"] > 0.7
    assert (tmp_path/"out"/"dirty").is_dir() and (tmp_path/"out"/"review.html").is_file()
    assert D.detector_notes()["cl"] in (tmp_path/"out"/"review.html").read_text()      # each detector's line comes from the registry


def test_bad_input_fails_early_and_names_the_value(ds, tmp_path):
    n = len(ds.split_idx("train"))
    cases = [(dict(method="loss"), "unknown detection method 'loss'; valid: all, ema, ema_epoch, aum, cl, incv, tv, ensemble"),
             (dict(method=["ema", "nope"]), "unknown detection method 'nope'"),
             (dict(k=n + 1), f"k={n + 1} is larger than the dataset \\({n} training samples\\)"),
             (dict(k=-1), "k=-1 must be a non-negative integer"),
             (dict(folds=1), "folds=1 must be 0"), (dict(folds=n + 1), f"folds={n + 1} must be 0"),
             (dict(ratio=1.5), "1.5"), (dict(noise="gauss"), "gauss"),
             (dict(clean_labels_csv="x.csv"), "clean_labels_csv needs labels_csv"),
             (dict(select="tv", method="ema"), "unknown select 'tv'"),
             (dict(epochs=0), "epochs 0 must be an integer >= 1"), (dict(arch="vgg"), "unknown arch 'vgg'")]
    for kw, msg in cases:
        with pytest.raises(ValueError, match=msg): detect_labels(ds, tmp_path/"x", **dict(TINY, **kw))
    assert not (tmp_path/"x").exists()
    tr, names = ds.split_idx("train"), ds.classes("label")
    pd.DataFrame(dict(id=tr, label=["purple"] + list(np.array(names)[ds.labels("label")[tr[1:]]]))).to_csv(tmp_path/"bad.csv", index=False)
    with pytest.raises(ValueError, match="unknown class label.*'purple'.*valid: red, green, blue"):
        detect_labels(ds, tmp_path/"x", labels_csv=tmp_path/"bad.csv", **TINY)
    pd.DataFrame(dict(id=tr[:-3], label=0)).to_csv(tmp_path/"short.csv", index=False)
    with pytest.raises(ValueError, match="3 requested id\\(s\\) missing"):
        detect_labels(ds, tmp_path/"x", labels_csv=tmp_path/"short.csv", **TINY)
    with pytest.raises(ValueError, match="not a distribution"):
        cleanlab_detection([0, 1], [[0.5, 0.7], [0.1, 0.9]])
    with pytest.raises(ValueError, match="needs the truth"):
        detect_labels(ds, tmp_path/"x", ratio=0, method="ema", select="best", charts=False, **TINY)
    (tmp_path/"busy").mkdir(); (tmp_path/"busy"/"f").write_text("x")
    with pytest.raises(OutputExistsError, match="is not empty"): detect_labels(ds, tmp_path/"busy", **TINY)


def test_parse_methods():
    assert parse_methods("all") == list(METHODS) and parse_methods("cl,ema") == ["ema", "cl"]
    assert parse_methods("ensemble") == ["ema", "aum", "cl", "incv", "tv", "ensemble"]
    with pytest.raises(ValueError, match="no detection method"): parse_methods(" , ")


def test_reuse_a_sweep_run(ds, tmp_path):
    run = tmp_path/"sweep"/"runs"/"r1"
    train_run(ds, run, ratio=0.2, seed=0, **{k: v for k, v in TINY.items() if k != "allow_no_learning"})   # a run judges nothing
    assert find_run(tmp_path/"sweep", "label", "sym", 0.2, 0, "small_cnn") == run
    assert find_run(tmp_path/"sweep", "label", "sym", 0.3, 0) is None
    ev = detect_labels(ds, tmp_path/"d", ratio=0.2, seed=0, run=run, method="ema,aum,cl,tv", folds=0, aum_threshold=False,
                       tv_kw=dict(episodes=5), charts=False, **TINY).set_index("method")
    p = json.loads((tmp_path/"d"/"params.json").read_text())
    assert p["trainings"] == 0 and any("reused from run" in n for n in p["notes"])
    assert ev.loc["cl", "probs"] == "in-sample (final model)" and any("in-sample" in n for n in p["notes"])
    st = np.load(run/"sample_stats.npz")
    np.testing.assert_allclose(np.load(tmp_path/"d"/"detection_stats.npz")["score_ema"], DY.ema_loss(st["loss"]))
    with pytest.raises(ValueError, match="other given labels"):
        detect_labels(ds, tmp_path/"e", ratio=0.2, seed=1, run=run, method="ema", charts=False, **TINY)


def test_sweep_resumes_and_feeds_the_report(ds, tmp_path):
    out = tmp_path/"sweep"/"detection"
    res = detect_sweep(ds, out, ratios=[0.3, 0.1], method="ema,cl", folds=2, charts=["json"], **TINY)
    assert sorted(p.name for p in out.iterdir()) == [".false_labels", "charts", "detection_results.csv", "params.json", "ratio_0.1", "ratio_0.3"]
    assert len(res) == 2 * 3 and list(res.ratio.unique()) == [0.1, 0.3]
    assert res.groupby("ratio").selected.sum().eq(1).all()
    assert res.realised_ratio.tolist() == pytest.approx([0.1] * 3 + [0.3] * 3, abs=0.01)
    pd.testing.assert_frame_equal(detection_results(out), res, check_dtype=False)
    stamp = (out/"ratio_0.1"/"evaluation.csv").stat().st_mtime_ns
    again = detect_sweep(ds, out, ratios=[0.1, 0.3], method="ema,cl", folds=2, charts=["json"], **TINY)
    assert (out/"ratio_0.1"/"evaluation.csv").stat().st_mtime_ns == stamp                # read back, not recomputed
    pd.testing.assert_frame_equal(again, res, check_dtype=False)
    with pytest.raises(OutputExistsError, match="other settings"):
        detect_sweep(ds, out, ratios=[0.1], method="ema,cl", folds=3, charts=False, **TINY)
    with pytest.raises(ValueError, match="ratio 0 has nothing to detect"): detect_sweep(ds, tmp_path/"z", ratios=[0, 0.1], **TINY)
    tbl = detection_table(res)
    assert list(tbl.columns) == ["metric", "method", "10 %", "30 %"] and set(tbl.metric) == {"f1", "auroc"}
    sec = detection_section(out)
    assert sec.title == "Label-error detection" and set(sec.tables) == {"detection", "detection_results"}
    assert "detection" in sec.charts and sec.charts["detection"].to_dict()
    from false_labels.study.report import Section, render_html
    assert isinstance(sec, Section) and "Label-error detection" in render_html([sec])
    assert isinstance(detection_section(SimpleNamespace(sweep_dir=tmp_path/"sweep")), Section)   # the report hook
    assert detection_section(SimpleNamespace(sweep_dir=tmp_path/"nothing")) is None
    single = detection_section(out/"ratio_0.3")
    assert list(single.tables["detection"].columns) == ["metric", "method", "30 %"]


def test_fold_best_stops_every_fold_model_at_its_best_epoch_on_its_held_out_fold(ds, fp):
    "fold_best: each k-fold model keeps the epoch of best given-label accuracy on the fold it then predicts; off by default."
    from false_labels.detectors.pipeline import detect_in_memory
    runs = {}
    for best in (False, True):
        f = fp.with_labels(fp.given)
        d = detect_in_memory(f, ds, "cl", folds=2, seed=0, fold_best=best)
        runs[best] = (f.log, d.arrays["oof_probs"])
    off, on = runs[False][0], runs[True][0]
    assert [r["best_on"] for r in off] == [None, None]
    assert sum(r["best_on"] for r in on) == fp.n and all(r["n_train"] + r["best_on"] == fp.n for r in on)
    assert runs[True][1].shape == runs[False][1].shape == (fp.n, 3)
    np.testing.assert_allclose(runs[True][1].sum(1), 1, atol=1e-5)


def test_detect_options_are_one_dataclass_shared_by_every_entry_point():
    "detect_labels, detect_in_memory and detect_sweep take DetectOptions' fields; an unknown one is named; a sweep folder written before a setting existed still resumes."
    from dataclasses import fields
    from false_labels.detectors.options import DetectOptions, DetectTraining, split_options
    from false_labels.detectors.sweep import same_settings
    o, t, nk = split_options(dict(fold_best=True, folds=2, epochs=3, mapping={0: 1}))
    assert (o.fold_best, o.folds, t.epochs, nk) == (True, 2, 3, {"mapping": {0: 1}})
    with pytest.raises(ValueError, match=r"unknown detect_labels argument\(s\) \['fold_bets'\]"): split_options(dict(fold_bets=True))
    assert {"fold_best", "ensemble_cut", "incv_score", "target_precision"} <= {f.name for f in fields(DetectOptions)}
    assert same_settings(dict(folds=2, method="all"), dict(folds=2, method="all", fold_best=False, policy="drop"))
    assert not same_settings(dict(folds=2), dict(folds=2, fold_best=True))
    assert not same_settings(dict(folds=2), dict(folds=4))

"""The detection-side figures and tables of the reference studies (issue 15): Training-ValueNet's MLP episodes, feature map,
value histograms, saved networks and CLI knobs; INCV's selection table and LP/LR against the ratio; Datumaro's top-k.

Tiny CPU data only: the synthetic stats of `stats.synthetic_stats` and the 16 px colour toy with a two-epoch small_cnn.
"""
import json, subprocess, sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from false_labels.detectors import charts as CH
from false_labels.detectors.registry import label_precision_recall as kept_lplr
from false_labels.detectors.pipeline import detect_labels
from false_labels.detectors.options import check_output_options
from false_labels.detectors.output import detection_charts, load_detection_models, read_detection_table
from false_labels.detectors.sweep import detection_folders, label_precision_recall_table as label_precision_recall
from false_labels.detectors.incv import incv, incv_selection
from false_labels.noise.theory import label_precision
from false_labels.study.report import detection_section, reference_figures
from false_labels.arrays import linear_fit_predict, synthetic_stats
from false_labels.detectors.value import (ValueRegressors, _glorot, _permuted, check_value_options, feature_map, fit_value_regressors,
                                mc_training_values, training_values)
from toys import colour_toy

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(task="label", arch="small_cnn", epochs=2, bs=32, device="cpu", allow_no_learning=True)
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def stats(): return synthetic_stats(seed=0)


# ---------------------------------------------------------------------------------------------------------------
# Training-ValueNet: the MLP head of the episodes

def _autograd_episode(X, y, V, yv, hidden, lr, seed):
    "One episode of single-example SGD on a ReLU MLP with autograd, drawing the same initialisation and order."
    gen = torch.Generator().manual_seed(seed)
    D, C = X.shape[1], int(max(y.max(), yv.max())) + 1
    w1, w2 = _glorot(gen, D, hidden), _glorot(gen, hidden, C)
    W1 = _permuted(w1, 1, (D, hidden), gen, "cpu", torch.float64)[0].clone().requires_grad_()
    W2 = _permuted(w2, 1, (hidden, C), gen, "cpu", torch.float64)[0].clone().requires_grad_()
    b1, b2 = (torch.zeros(k, dtype=torch.float64, requires_grad=True) for k in (hidden, C))
    order = torch.argsort(torch.rand(1, len(X), generator=gen), 1)[0]
    Xt, Vt, ce = torch.tensor(X, dtype=torch.float64), torch.tensor(V, dtype=torch.float64), torch.nn.functional.cross_entropy
    f = lambda A: torch.relu(A @ W1 + b1) @ W2 + b2
    out = np.zeros(len(X))
    with torch.no_grad(): before = ce(f(Vt), torch.tensor(yv)).item()
    for i in order.tolist():
        gs = torch.autograd.grad(ce(f(Xt[i:i + 1]), torch.tensor(y[i:i + 1])), [W1, b1, W2, b2])
        with torch.no_grad():
            for p, g in zip([W1, b1, W2, b2], gs): p -= lr * g
            after = ce(f(Vt), torch.tensor(yv)).item()
        out[i], before = before - after, after
    return out


@pytest.mark.parametrize("seed,hidden", [(0, 5), (3, 12)])
def test_mlp_episodes_equal_an_autograd_loop(stats, seed, hidden):
    X, y, V, yv = stats["features"][:50], stats["given"][:50], stats["val_features"][:80], stats["val_labels"][:80]
    fast = mc_training_values(X, y, V, yv, 4, episodes=1, lr=0.05, dtype="float64", head="mlp", hidden=hidden, seed=seed)
    np.testing.assert_allclose(fast, _autograd_episode(X, y, V, yv, hidden, 0.05, seed), atol=1e-12)


def test_mlp_episodes_rank_the_flips_and_are_seeded(stats):
    X, y, V, yv, bad = stats["features"][:300], stats["given"][:300], stats["val_features"], stats["val_labels"], stats["corrupted"][:300]
    kw = dict(n_classes=4, episodes=6, lr=0.05, dtype="float64", head="mlp", hidden=16, seed=1)
    a = mc_training_values(X, y, V, yv, **kw)
    np.testing.assert_array_equal(a, mc_training_values(X, y, V, yv, **kw))
    assert a[bad].mean() < 0 < a[~bad].mean()


def test_linear_head_is_the_default_and_unchanged(stats):
    X, y, V, yv = stats["features"][:200], stats["given"][:200], stats["val_features"], stats["val_labels"]
    np.testing.assert_array_equal(mc_training_values(X, y, V, yv, 4, episodes=3, seed=2),
                                  mc_training_values(X, y, V, yv, 4, episodes=3, seed=2, head="linear"))
    assert not np.allclose(mc_training_values(X, y, V, yv, 4, episodes=3, seed=2),
                           mc_training_values(X, y, V, yv, 4, episodes=3, seed=2, head="mlp"))


@pytest.mark.parametrize("kw,msg", [(dict(episodes=0), "episodes=0"), (dict(train_per_class=-3), "train_per_class=-3"),
                                    (dict(val_per_class=2.5), "val_per_class=2.5"), (dict(head="deep"), "'deep'"),
                                    (dict(regressor="svm"), "'svm'"), (dict(episdoes=3), "episdoes"), (dict(lr=0), "lr=0"),
                                    (dict(episodes=True), "episodes=True")])
def test_value_options_are_checked_with_one_line(kw, msg):
    with pytest.raises(ValueError, match=None) as e: check_value_options(**kw)
    assert msg in str(e.value) and "\n" not in str(e.value)


def test_training_values_refuse_bad_options_before_work(stats):
    with pytest.raises(ValueError, match="head"):
        training_values(stats["features"], stats["given"], stats["val_features"], stats["val_labels"], 4, head="cnn")


@pytest.mark.parametrize("kind", ["mlp", "ridge"])
def test_value_networks_round_trip_through_a_state_dict(stats, kind, tmp_path):
    X, y = stats["features"][:400], stats["given"][:400]
    reg = fit_value_regressors(X, y, np.sin(X[:, 0]), 4, kind=kind, epochs=5, seed=0)
    torch.save(reg.state_dict(), tmp_path/"v.pt")
    back = ValueRegressors.from_state_dict(torch.load(tmp_path/"v.pt", weights_only=True))
    np.testing.assert_allclose(back.predict(X, y), reg.predict(X, y), rtol=1e-5, atol=1e-6)
    assert back.kind == kind and all(isinstance(s, list) for s in reg.shapes().values())


# ---------------------------------------------------------------------------------------------------------------
# the feature map

def test_feature_map_is_seeded_subsampled_and_keeps_clusters(stats):
    X, y = stats["features"], stats["true"]
    keep, xy = feature_map(X, "tsne", seed=1, max_points=250)
    assert xy.shape == (250, 2) and len(np.unique(keep)) == 250 and (np.diff(keep) > 0).all()
    k2, xy2 = feature_map(X, "tsne", seed=1, max_points=250)
    np.testing.assert_array_equal(keep, k2); np.testing.assert_allclose(xy, xy2)
    assert not np.array_equal(feature_map(X, "tsne", seed=2, max_points=250)[0], keep)
    # points of the same (true) class lie closer together than points of different classes
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    same = y[keep][:, None] == y[keep][None]
    assert d[same].mean() < 0.7 * d[~same].mean()


def test_feature_map_methods_and_errors(stats):
    X = stats["features"]
    idx, xy = feature_map(X[:40], "pca")
    np.testing.assert_array_equal(idx, np.arange(40)); assert xy.shape == (40, 2)
    big = np.random.default_rng(0).normal(size=(60, 80))           # > 50 dims: reduced by PCA first
    assert feature_map(big, "tsne", max_points=60)[1].shape == (60, 2)
    with pytest.raises(ValueError, match="'mds'"): feature_map(X, "mds")
    with pytest.raises(ValueError, match="max_points=2"): feature_map(X, "pca", max_points=2)
    with pytest.raises(ValueError, match="NaN"): feature_map(np.full((5, 2), np.nan), "pca")
    try: import umap  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="umap-learn") as e: feature_map(X, "umap")
        assert "\n" not in str(e.value)


# ---------------------------------------------------------------------------------------------------------------
# charts

def _data(ch):
    d = ch.to_dict()
    return pd.DataFrame(d["datasets"][d["data"]["name"]]) if "data" in d else \
           pd.concat([pd.DataFrame(v) for v in d["datasets"].values()], ignore_index=True)


def test_feature_map_chart_panels_and_truth(stats):
    keep, xy = np.arange(100), stats["features"][:100, :2]
    y, sugg, t = stats["given"][:100], stats["oof_probs"][:100].argmax(1), stats["true"][:100]
    ch = CH.plot_feature_map(xy, y, sugg, np.linspace(-1, 1, 100), truth=t, class_names=list("abcd"))
    assert len(ch.to_dict()["hconcat"]) == 3
    df = _data(ch)
    assert (df["agreement"] == "given ≠ suggested").sum() == (sugg != y).sum()
    assert (df["label"] == "corrupted").sum() == (t != y).sum() and set(df["given"]) <= set("abcd")
    assert len(CH.plot_feature_map(xy, y, values=np.zeros(100)).to_dict()["hconcat"]) == 2
    with pytest.raises(ValueError, match="class_names has 2"): CH.plot_feature_map(xy, y, class_names=["a", "b"])


def test_value_histograms_count_every_sample_once(stats):
    v, y, t = np.random.default_rng(0).normal(size=len(stats["given"])), stats["given"], stats["true"]
    df = _data(CH.plot_value_histograms(v, y, truth=t, bins=20))
    assert df.samples.sum() == len(v)
    assert df[df.truth == "corrupted"].samples.sum() == (t != y).sum()
    panels = sorted(df.panel.unique())
    assert len(panels) == 4 and f"{int((v[y == 0] < 0).sum())} discarded" in panels[0]
    assert set(_data(CH.plot_value_histograms(v, y)).truth) == {"all"}


# ---------------------------------------------------------------------------------------------------------------
# INCV: the selection table and LP/LR against the ratio

def test_incv_selection_table_agrees_with_the_result_and_its_log(stats):
    y = stats["given"]
    r = incv(y, linear_fit_predict(stats["features"], y, 4), n_classes=4, seed=0)
    t = incv_selection(r, y, stats["true"], ids=np.arange(len(y)) + 1000)
    assert list(t.columns[:4]) == ["id", "true", "given", "selected"] and t.id.min() == 1000
    assert (t.selected == r.selected).all() and (t.candidate == r.candidate).all() and (t.removed == r.discarded).all()
    # the running totals of the log are the cumulative counts of selected_at
    totals = [e["total_selected"] for e in r.log if "total_selected" in e]
    assert [int(t.selected_at.between(1, it).sum()) for it in range(1, len(totals) + 1)] == totals
    assert ((t.removed_at > 0) == t.removed).all() and ((t.selected_at > 0) == t.selected).all()
    assert np.allclose(t.eval_ratio, r.eval_ratio)
    # the per-iteration estimate inverts the held-out accuracy of the half that evaluated the sample
    first = t[t.evaluated_at == 1].iteration_noise_estimate.unique()
    assert set(np.round(first, 6)) <= {round(e["noise_estimate"], 6) for e in r.log if e["iteration"] == 1}
    with pytest.raises(ValueError, match="truth has 3"): incv_selection(r, y, stats["true"][:3])


def _results():
    rows = []
    for eps, lp, lr in ((0.1, 0.98, 0.85), (0.2, 0.95, 0.7), (0.4, 0.85, 0.5)):
        rows += [dict(ratio=eps, realised_ratio=eps, noise="sym", seed=0, method="incv", n_classes=4,
                      kept_label_precision=lp, kept_label_recall=lr),
                 dict(ratio=eps, realised_ratio=eps, noise="sym", seed=0, method="cl", n_classes=4,
                      kept_label_precision=0.9, kept_label_recall=0.9)]
    return pd.DataFrame(rows)


def test_label_precision_recall_measured_and_closed_forms():
    t = label_precision_recall(_results())
    m = t[t.kind == "measured"]
    assert len(m) == 6 and set(m.metric) == {"label precision", "label recall"}
    assert m[m.metric == "label recall"].sort_values("ratio").value.tolist() == [0.85, 0.7, 0.5]
    c = t[(t.kind == "closed form") & (t.metric == "label precision")]
    np.testing.assert_allclose(c.value, (1 - c.ratio) ** 2 / ((1 - c.ratio) ** 2 + c.ratio ** 2 / 3))
    np.testing.assert_allclose(c.value, label_precision(c.ratio.to_numpy(), 4, "sym"))
    lr = t[(t.kind == "closed form") & (t.metric == "label recall")]
    np.testing.assert_allclose(lr.value, 1 - lr.ratio)
    pair = label_precision_recall(_results().assign(noise="pair"))
    pc = pair[(pair.kind == "closed form") & (pair.metric == "label precision")]
    np.testing.assert_allclose(pc.value, (1 - pc.ratio) ** 2 / ((1 - pc.ratio) ** 2 + pc.ratio ** 2))
    assert pc.ratio.max() <= 0.5
    np.testing.assert_allclose(label_precision_recall(_results(), method="cl").query("kind == 'measured'").value, 0.9)


def test_label_precision_recall_errors():
    with pytest.raises(ValueError, match="no scored 'incv' rows"): label_precision_recall(_results().query("method == 'cl'"))
    with pytest.raises(ValueError, match="n_classes"): label_precision_recall(_results().drop(columns="n_classes"))
    assert len(label_precision_recall(_results().drop(columns="n_classes"), n_classes=4))
    ch = CH.plot_label_precision_recall(label_precision_recall(_results()))
    assert len(ch.to_dict()["layer"]) == 2


# ---------------------------------------------------------------------------------------------------------------
# the detection folder, the report and the CLI

@pytest.fixture(scope="module")
def det(tmp_path_factory):
    out = tmp_path_factory.mktemp("figs")/"det"
    ev = detect_labels(colour_toy(), out, ratio=0.2, seed=0, method="tv,incv,cl", folds=2, incv_iter=2, top=5, top_k=7,
                       tv_kw=dict(episodes=6, train_per_class=40, val_per_class=20, head="mlp"), **TINY)
    return out, ev


def test_detection_folder_has_the_reference_tables(det):
    out, ev = det
    params = json.loads((out/"params.json").read_text())
    assert params["tv_kw"] == dict(episodes=6, train_per_class=40, val_per_class=20, head="mlp")
    assert params["training_value"]["head"] == "mlp" and params["training_value"]["episodes"] == 6
    assert params["top"] == 5 and params["top_k"] == 7
    sus, top = read_detection_table(out, "suspects"), read_detection_table(out, "top_suspects")
    pd.testing.assert_frame_equal(top, sus.head(7))
    sel = read_detection_table(out, "incv_selection")
    npz = np.load(out/"detection_stats.npz")
    assert (sel.id.to_numpy() == npz["ids"]).all() and (sel.selected.to_numpy() == ~npz["flagged_incv"]).all()
    assert (sel.true.to_numpy() == npz["true"]).all() and (sel.given.to_numpy() == npz["given"]).all()
    tv = read_detection_table(out, "training_values")
    np.testing.assert_allclose(tv.value.to_numpy(), -npz["score_tv"])
    assert tv.mc_subset.sum() == tv.mc_value.notna().sum() <= 3 * 40
    fm = read_detection_table(out, "feature_map")
    assert len(fm) == len(tv) and {"x", "y", "given", "suggested", "true", "value"} <= set(fm.columns)
    assert set(detection_charts(out)) == {"feature_map", "value_histograms"}
    for name in ("feature_map", "value_histograms"): assert (out/"charts"/f"{name}.png").stat().st_size > 1000
    assert read_detection_table(out.parent, "incv_selection") is None
    with pytest.raises(ValueError, match="'nope'"): read_detection_table(out, "nope")


def test_saved_networks_load_back(det):
    out, _ = det
    m = load_detection_models(out)
    assert not m["baseline"].training and m["info"]["baseline"]["arch"] == "small_cnn"
    sd = torch.load(out/"models"/"baseline.pt", weights_only=True)
    for k, v in m["baseline"].state_dict().items(): assert torch.equal(v, sd[k])
    assert m["info"]["value_nets"]["shapes"]["W1"] == list(m["value_nets"].state_dict()["W1"].shape)
    tv = read_detection_table(out, "training_values")
    from false_labels.training.kfold import make_fit_predict
    fp = make_fit_predict(colour_toy(), task="label", arch="small_cnn", epochs=1, bs=32, device="cpu")
    pred = m["value_nets"].predict(fp.features(m["baseline"]), tv.given.to_numpy())
    assert np.corrcoef(pred, tv.value)[0, 1] > 0.95
    with pytest.raises(ValueError, match="no models"): load_detection_models(out.parent)


def test_report_section_shows_the_reference_figures(det):
    out, _ = det
    sec = detection_section(out)
    assert {"detection", "incv_label_precision_recall", "tv_feature_map", "tv_value_histograms"} <= set(sec.charts)
    assert "Training-ValueNet" in sec.text and "INCV" in sec.text
    assert list(detection_folders(out).values()) == [out]


def test_output_options_are_checked_before_any_work(tmp_path):
    for kw, msg in ((dict(top=0), "top=0"), (dict(top_k=-1), "top_k=-1"), (dict(feature_map="mds"), "'mds'"),
                    (dict(tv_kw=dict(episodes=0)), "episodes=0")):
        with pytest.raises(ValueError) as e: check_output_options(**kw)
        assert msg in str(e.value)
        with pytest.raises(ValueError): detect_labels("/nonexistent/data", tmp_path/"x", **kw, **TINY)


def _fl(*args):
    return subprocess.run([sys.executable, "-m", "false_labels", *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


@pytest.mark.parametrize("opt,val", [("--top", 0), ("--gallery", 0), ("--value-episodes", 0), ("--value-per-class", -1),
                                     ("--value-val-per-class", 0), ("--value-head", "deep")])
def test_cli_refuses_bad_detect_knobs_in_one_line(opt, val, tmp_path):
    r = _fl("detect", "--data", tmp_path/"missing", "--out", tmp_path/"x", opt, val)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and opt.lstrip("-").split("-")[0] in lines[0], r.stderr
    assert "missing" not in lines[0]                  # refused before the data is opened


def test_cli_detect_knobs_reach_the_folder(tmp_path):
    g = _fl("generate", "--out", tmp_path/"ds", "--n", 160, "--size", 16, "--seed", 1, "--workers", 1, "--quiet")
    assert g.returncode == 0, g.stderr
    out = tmp_path/"det"
    r = _fl("detect", "--data", tmp_path/"ds", "--task", 4, "--ratio", 0.2, "--method", "tv", "--arch", "small_cnn", "--epochs", 1, "--bs", 32,
            "--device", "cpu", "--out", out, "--top", 5, "--gallery", 4, "--value-per-class", 20, "--value-val-per-class", 5,
            "--value-episodes", 3, "--value-head", "mlp", "--quiet")
    assert r.returncode == 0, r.stderr
    p = json.loads((out/"params.json").read_text())
    assert p["tv_kw"] == dict(train_per_class=20, val_per_class=5, episodes=3, head="mlp") and p["top"] == 4 and p["top_k"] == 5
    assert len(pd.read_csv(out/"top_suspects.csv")) == 5 and "top_suspects.csv" in r.stdout
    assert (out/"models"/"value_nets.pt").exists()

"Tests for false_labels.methods (registry, shared, coteaching, incv, clean_retrain): forget schedules, co-teaching's exchange, INCV + co-teaching, clean-then-retrain, run folders."
import json
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from fastai.callback.core import Callback
from hypothesis import given, settings, strategies as st

from false_labels.core import OutputExistsError
from false_labels.data.dataset import Dataset
from false_labels.detectors.pipeline import METHODS as DETECTION_METHODS
from false_labels.training.learner import LOSSES, load_model, train_run
from false_labels.results import RUN_FILES
from false_labels.methods.registry import METHODS, parse_method, train_method
from false_labels.methods.coteaching import CoTeachingLoss, default_num_gradual, forget_schedule, incv_forget_schedule, keep_count
from false_labels.methods.shared import TwinNets, chosen_estimate, noise_rate_estimates
from toys import colour_toy

pytestmark = pytest.mark.usefixtures("one_thread")


toy = colour_toy


@pytest.fixture(scope="module")
def tds(): return toy()


RUN = dict(task="label", noise="sym", ratio=0.3, arch="small_cnn", epochs=3, bs=32, device="cpu", seed=0)
FAST_KW = {"incv-coteaching": dict(incv_iter=1), "clean-retrain:cl": dict(folds=2), "clean-retrain:incv": dict(incv_iter=1),
           "clean-retrain:ensemble": dict(folds=2, incv_iter=1), "dividemix": dict(warmup=1), "relabel-retrain": dict(folds=2), "forward": dict(folds=2)}


# --- schedules
def test_forget_schedule_ramp_and_plateau():
    fs = forget_schedule(30, 0.4)
    np.testing.assert_allclose(fs[:10], np.linspace(0, 0.4, 10))
    np.testing.assert_allclose(fs[10:], 0.4)
    np.testing.assert_allclose(forget_schedule(5, 0.5, num_gradual=3, exponent=2)[:3], [0, 0.125, 0.25])
    np.testing.assert_allclose(forget_schedule(5, 0.5, num_gradual=3, exponent=2)[3:], 0.5)
    np.testing.assert_allclose(forget_schedule(4, 0.3, num_gradual=10), np.linspace(0, 0.3, 10)[:4])  # ramp cut short
    assert [default_num_gradual(e) for e in (1, 2, 3, 9, 20, 30, 200)] == [1, 1, 1, 3, 7, 10, 10]
    np.testing.assert_allclose(incv_forget_schedule(12, 0.2, num_gradual=4), 0.2 * np.minimum(1, np.arange(12) / 4))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.floats(0, 0.95), st.one_of(st.none(), st.integers(1, 20)))
def test_forget_schedule_properties(epochs, rate, num_gradual):
    fs = forget_schedule(epochs, rate, num_gradual)
    g = num_gradual or default_num_gradual(epochs)
    assert fs.shape == (epochs,) and fs[0] == 0 and (np.diff(fs) >= -1e-12).all() and fs.max() <= rate + 1e-12
    assert fs[g:] == pytest.approx(np.full(max(epochs - g, 0), rate))      # the plateau after the ramp
    if 1 < g <= epochs: assert fs[g - 1] == pytest.approx(rate ** 1.0)      # linspace ends on the rate
    inc = incv_forget_schedule(epochs, rate, num_gradual)
    assert inc[0] == 0 and (np.diff(inc) >= -1e-12).all() and inc.max() <= rate + 1e-12


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 1024), st.floats(0, 0.99))
def test_keep_count(n, rate):
    k, want = keep_count(n, rate), n * (1 - rate)
    assert 1 <= k <= n
    assert abs(k - want) <= 0.5 + 1e-9 if want >= 0.5 else k == 1


def test_schedule_errors():
    with pytest.raises(ValueError, match="forget_rate 1.0 must be in"): forget_schedule(5, 1.0)
    with pytest.raises(ValueError, match="epochs 0 must be >= 1"): forget_schedule(0, 0.2)
    with pytest.raises(ValueError, match="num_gradual 0 must be >= 1"): forget_schedule(5, 0.2, num_gradual=0)
    with pytest.raises(ValueError, match="exponent -1"): forget_schedule(5, 0.2, exponent=-1)
    with pytest.raises(ValueError, match="tau -0.1"): incv_forget_schedule(5, -0.1)


# --- the exchange itself
def test_coteaching_loss_exchange_on_random_logits():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 20, 5, generator=g, requires_grad=True)
    y = torch.randint(0, 5, (20,), generator=g)
    loss = CoTeachingLoss(); loss.forget_rate = 0.3
    out = loss(logits, y)
    out.backward()
    per = F.cross_entropy(logits.detach().flatten(0, 1), y.repeat(2), reduction="none").view(2, 20)
    k = keep_count(20, 0.3)
    small = [per[i].argsort()[:k] for i in (0, 1)]
    for net, peer in ((0, 1), (1, 0)):
        rows = torch.nonzero(logits.grad[net].abs().sum(1)).flatten()
        assert set(rows.tolist()) == set(small[peer].tolist())
    assert out.item() == pytest.approx(per[0, small[1]].mean().item() + per[1, small[0]].mean().item(), rel=1e-6)
    loss.n_ref = 10                                          # INCV: the keep budget counts the selected-set part
    loss(logits.detach(), y); assert loss.picked.shape == (2, keep_count(10, 0.3))
    assert loss(logits.detach()[0], y).item() == pytest.approx(per[0].mean().item(), rel=1e-6)   # evaluation: base loss


def test_twin_nets_modes():
    pair = TwinNets(torch.nn.Linear(4, 3), torch.nn.Linear(4, 3))
    x = torch.randn(5, 4)
    assert pair.train()(x).shape == (2, 5, 3)
    assert torch.equal(pair.eval()(x), pair.nets[0](x))


class ExchangeSpy(Callback):
    "Check, every training batch, that each network's logits get gradient exactly on its peer's small-loss picks."
    order = 20
    def __init__(self): self.batches, self.rates, self.clean_picks, self.n_picks = [], {}, 0, 0
    def before_fit(self):
        self.outs = {}
        def keep(i):
            def hook(m, inp, o):
                if m.training: o.retain_grad(); self.outs[i] = o
            return hook
        for i, net in enumerate(self.learn.model.nets): net.register_forward_hook(keep(i))
    def after_backward(self):
        outs, y = self.outs, self.learn.yb[0]
        B, rate = len(y), self.learn.loss_func.forget_rate
        k = keep_count(B, rate)
        per = [F.cross_entropy(outs[i].detach(), y, reduction="none") for i in (0, 1)]
        small = [set(per[i].argsort()[:k].tolist()) for i in (0, 1)]
        got = [set(torch.nonzero(outs[i].grad.abs().sum(1)).flatten().tolist()) for i in (0, 1)]
        if len(set(per[0].tolist())) == B and len(set(per[1].tolist())) == B:   # no ties, so the picks are unambiguous
            assert got[0] == small[1] and got[1] == small[0], "a network trained on samples its peer did not pick"
        assert len(got[0]) <= k and len(got[1]) <= k
        self.batches.append((self.epoch, B, len(got[0]), len(got[1])))
        self.checked = getattr(self, "checked", 0) + (got[0] == small[1] and got[1] == small[0])
        self.rates[self.epoch] = rate
        corrupted = torch.as_tensor(self.dls.info.corrupted)[self._pos(self.learn.batch_ids)]
        picked = self.learn.loss_func.picked
        self.clean_picks += int((~corrupted[picked]).sum()); self.n_picks += picked.numel()
    def _pos(self, ids):
        lookup = {int(s): p for p, s in enumerate(self.dls.info.ids)}
        return torch.as_tensor([lookup[int(i)] for i in ids])


def test_coteaching_updates_use_only_peer_picks(tds, tmp_path):
    spy = ExchangeSpy()
    res = train_method(tds, tmp_path/"r", method="coteaching", noise_rate=0.3, cbs=[spy],
                       method_kw=dict(num_gradual=2), **RUN)
    sched = forget_schedule(3, 0.3, num_gradual=2)
    assert res["forget_schedule"] == pytest.approx(sched.tolist())
    assert [spy.rates[e] for e in range(3)] == pytest.approx(sched.tolist())
    assert spy.checked >= 0.9 * len(spy.batches)             # the exchange was verified on (nearly) every batch
    for epoch, B, n0, n1 in spy.batches:                     # the selected fraction is 1 - forget_rate(epoch)
        assert n0 == n1 == keep_count(B, sched[epoch])
    sel = pd.DataFrame(res["selection"])
    assert sel["forget_rate"].tolist() == pytest.approx(sched.tolist())
    n_b = sum(2 * B for e, B, *_ in spy.batches if e == 2)
    assert sel["picked_share"].iloc[2] == pytest.approx(sum(n0 + n1 for e, B, n0, n1 in spy.batches if e == 2) / n_b)
    total_clean = spy.clean_picks / spy.n_picks                # the record agrees with an independent count
    weights = np.array([sum(n0 + n1 for e, _, n0, n1 in spy.batches if e == ep) for ep in range(3)])
    assert total_clean == pytest.approx(np.average(sel["picked_clean_share"], weights=weights), abs=1e-9)


def test_coteaching_picks_mostly_clean_samples(tmp_path):
    "On easy data, the small-loss picks are far cleaner than the data (base rate 1 - ratio)."
    ds = toy(n=400, seed=5)
    res = train_method(ds, tmp_path/"r", method="coteaching", noise_rate="known", **dict(RUN, ratio=0.4, epochs=4, seed=1))
    last = res["selection"][-1]
    assert last["forget_rate"] == pytest.approx(res["realised_ratio"])
    assert last["clean_share"] == pytest.approx(1 - res["realised_ratio"], abs=0.05)
    assert last["picked_clean_share"] > last["clean_share"] + 0.2, last


# --- noise rate: estimated when unknown, and recorded
def test_noise_rate_estimated_and_recorded(tds, tmp_path):
    res = train_method(tds, tmp_path/"cl", method="coteaching", noise_estimator="cl", **RUN)
    assert res["noise_rate_source"] == "cl" and set(res["noise_rate_estimates"]) == {"cl", "incv"}   # no gap: not asked
    assert res["noise_rate_used"] == res["noise_rate_estimates"]["cl"]
    assert abs(res["noise_rate_used"] - res["realised_ratio"]) < 0.1       # the toy is easy: CL gets close
    assert res["forget_schedule"][-1] == pytest.approx(min(res["noise_rate_used"], 0.9))
    res2 = train_method(tds, tmp_path/"incv", method="coteaching", noise_estimator="incv", **RUN)
    assert res2["noise_rate_source"] == "incv" and res2["noise_rate_used"] == res2["noise_rate_estimates"]["incv"]
    assert res2["noise_rate_estimates"] == pytest.approx(res["noise_rate_estimates"])   # same folds, same seed
    known = train_method(tds, tmp_path/"known", method="coteaching", noise_rate="known", **RUN)
    assert (known["noise_rate_source"], known["noise_rate_used"]) == ("known", known["realised_ratio"])
    assert known["noise_rate_estimates"] is None and known["prep_time_s"] < res["prep_time_s"]
    given_ = train_method(tds, tmp_path/"given", method="coteaching", noise_rate=0.15, **RUN)
    assert (given_["noise_rate_source"], given_["noise_rate_used"]) == ("given", 0.15)
    gap = train_method(tds, tmp_path/"gap", method="coteaching", **RUN)          # the default: 'auto' -> the gap
    assert gap["noise_estimator"] == "auto" and gap["noise_rate_source"] == "gap"
    assert set(gap["noise_rate_estimates"]) == {"gap", "cl", "incv"} and gap["noise_rate_used"] == gap["noise_rate_estimates"]["gap"]
    assert gap["noise_rate_estimates"]["cl"] == pytest.approx(res["noise_rate_estimates"]["cl"])  # same folds, same models
    assert abs(gap["noise_rate_used"] - gap["realised_ratio"]) < 0.1
    noisy_valid = train_method(tds, tmp_path/"nv", method="coteaching", corrupt_valid=True, **RUN)   # no clean split: CL
    assert noisy_valid["noise_rate_source"] == "cl" and "gap" not in noisy_valid["noise_rate_estimates"]
    for r, d in ((res, "cl"), (given_, "given")):
        assert json.loads((tmp_path/d/"result.json").read_text())["noise_rate_source"] == r["noise_rate_source"]


def test_noise_rate_estimates_arrays():
    from false_labels.detectors.incv import estimate_noise_from_accuracy
    true = np.arange(200) % 2
    p = np.where(true[:, None] == np.arange(2), 0.9, 0.1)       # a model sure of the true class
    est = noise_rate_estimates(p, true)
    assert est["cl"] == pytest.approx(0) and est["incv"] == pytest.approx(0.001)
    given = true.copy(); given[::5] = 1 - given[::5]            # 20 % of the labels flipped
    est = noise_rate_estimates(p, given)
    assert est["cl"] == pytest.approx(0.2, abs=0.01)
    assert est["incv"] == pytest.approx(estimate_noise_from_accuracy(0.8, 2)) and est["incv"] < 0.2   # M != T: under


def test_gap_undefined_for_models_at_chance_falls_back_to_cl():
    true = np.arange(300) % 3
    p = np.full((300, 3), 1 / 3); p[np.arange(300), true] += 0.01; p /= p.sum(1, keepdims=True)
    est = noise_rate_estimates(p, true, clean_acc=0.3)                # below chance (1/3) on clean data
    assert est["gap"] is None
    with pytest.warns(UserWarning, match="at chance on the clean validation split"): rate, source = chosen_estimate(est, "gap")
    assert (rate, source) == (est["cl"], "cl")
    assert chosen_estimate(noise_rate_estimates(p, true, clean_acc=0.9), "gap") == (0.0, "gap")   # agrees fully: no noise


def test_incv_coteaching_warmup_and_joined_batches(tds, tmp_path):
    class Spy(Callback):
        order = 20
        def before_fit(self): self.seen = []
        def before_batch(self):
            if self.training:
                self.seen.append((self.epoch, self.learn.batch_ids.tolist(), self.dl.n_ref, len(self.learn.yb[0])))
        def after_loss(self):
            if self.training: self.seen[-1] += (self.learn.loss_func.picked.shape[1], self.learn.loss_func.forget_rate)
    spy = Spy()
    res = train_method(tds, tmp_path/"r", method="incv-coteaching", cbs=[spy], method_kw=dict(incv_iter=2, warmup=1, num_gradual=2),
                       noise_estimator="incv", **dict(RUN, ratio=0.4))
    assert res["noise_rate_source"] == "incv" and res["noise_rate_used"] == res["incv_eval_ratio"]
    assert res["tau"] == pytest.approx(min(res["incv_noise_selected"], 0.9))
    st_ = np.load(tmp_path/"r"/"sample_stats.npz")
    ids = st_["ids"]
    selected, cand = set(ids[st_["kept"]].tolist()), set(ids[~st_["kept"]].tolist())
    assert res["n_kept"] == len(selected) and res["n_kept"] + res["n_candidate"] + res["n_discarded"] == len(ids)
    assert res["kept_label_precision"] == pytest.approx(1 - st_["corrupted"][st_["kept"]].mean())
    tau_e = incv_forget_schedule(3, res["tau"], 2)
    for epoch, bids, n_ref, B, k, rate in spy.seen:
        assert rate == pytest.approx(tau_e[epoch])
        assert set(bids[:n_ref]) <= selected and k == min(B, keep_count(n_ref, rate))
        if epoch < 1: assert B == n_ref                                              # warm-up: the selected set only
        elif res["n_candidate"]: assert B > n_ref and set(bids[n_ref:]) <= cand - selected   # joined by candidates


def test_incv_coteaching_hands_the_estimated_rate_to_incv(tds, tmp_path):
    res = train_method(tds, tmp_path/"r", method="incv-coteaching", method_kw=dict(incv_iter=1), **RUN)
    assert res["noise_rate_source"] == "gap" and set(res["noise_rate_estimates"]) == {"gap", "cl", "incv"}
    assert res["incv_eval_ratio"] == pytest.approx(res["noise_rate_used"]) == pytest.approx(res["noise_rate_estimates"]["gap"])
    assert abs(res["noise_rate_used"] - res["realised_ratio"]) < 0.1


def test_incv_coteaching_known_rate_sets_tau(tds, tmp_path):
    from false_labels.noise.theory import label_precision
    res = train_method(tds, tmp_path/"r", method="incv-coteaching", noise_rate="known", method_kw=dict(incv_iter=1), **RUN)
    assert res["noise_rate_source"] == "known"
    assert res["tau"] == pytest.approx(1 - label_precision(res["realised_ratio"], 3, "sym"))


# --- clean, then retrain
def test_clean_retrain_trains_only_on_kept_samples(tds, tmp_path):
    class IdSpy(Callback):
        def before_fit(self): self.ids = set()
        def before_batch(self):
            if self.training: self.ids |= set(self.learn.batch_ids.tolist())
    spy = IdSpy()
    res = train_method(tds, tmp_path/"r", method="clean-retrain:aum", noise_rate="known", cbs=[spy], **RUN)
    st_ = np.load(tmp_path/"r"/"sample_stats.npz")
    kept = set(st_["ids"][st_["kept"]].tolist())
    assert res["n_kept"] == len(st_["ids"]) - round(res["realised_ratio"] * len(st_["ids"]))
    assert spy.ids <= kept and len(spy.ids) >= 0.9 * len(kept)
    assert st_["loss"].shape == (3, len(st_["ids"]))          # statistics still cover every training sample
    p, r = res["kept_label_precision"], res["kept_label_recall"]
    c = st_["corrupted"]
    assert p == pytest.approx(1 - c[st_["kept"]].mean()) and r == pytest.approx((st_["kept"] & ~c).sum() / (~c).sum())


def test_clean_retrain_own_cut_records_implied_rate(tds, tmp_path):
    res = train_method(tds, tmp_path/"r", method="clean-retrain:ema", noise_estimator="detector",
                       method_kw=dict(detector_kw=dict(ema_k=40)), **RUN)
    assert res["noise_rate_source"] == "detector:ema" and res["n_kept"] == res["n_train"] - 40
    assert res["noise_rate_used"] == pytest.approx(40 / res["n_train"])
    assert res["detector_info"]["cut"].startswith("top") or "40" in str(res["detector_info"]["cut"])
    cl = train_method(tds, tmp_path/"cl", method="clean-retrain:cl", noise_estimator="detector", method_kw=dict(folds=2), **RUN)
    assert cl["noise_rate_source"] == "detector:cl" and set(cl["noise_rate_estimates"]) == {"cl", "incv"}
    assert cl["noise_rate_used"] == pytest.approx(1 - cl["n_kept"] / cl["n_train"])


def test_clean_retrain_estimates_the_rate_by_default(tds, tmp_path):
    res = train_method(tds, tmp_path/"r", method="clean-retrain:ema", **RUN)
    assert res["noise_rate_source"] == "gap" and set(res["noise_rate_estimates"]) == {"gap", "cl", "incv"}
    n = res["n_train"]
    assert res["n_kept"] == n - round(res["noise_rate_used"] * n)
    assert abs(res["noise_rate_used"] - res["realised_ratio"]) < 0.1


def test_clean_retrain_uses_the_detection_module(tds, tmp_path):
    "The kept set is the complement of what `detection.detect_labels` flags for the same data, labels and settings."
    from false_labels.detectors.pipeline import detect_labels
    res = train_method(tds, tmp_path/"r", method="clean-retrain:aum", noise_estimator="detector", **RUN)
    ev = detect_labels(tds, tmp_path/"det", task="label", noise="sym", ratio=0.3, seed=0, method="aum", arch="small_cnn",
                       epochs=3, device="cpu", bs=32, charts=False)
    z = np.load(tmp_path/"det"/"detection_stats.npz")
    kept = np.load(tmp_path/"r"/"sample_stats.npz")["kept"]
    assert np.array_equal(kept, ~z["flagged_aum"]) and res["detector_info"]["cut"] == ev.set_index("method").loc["aum", "cut"]


# --- every method leaves a complete, identical-looking run folder
@pytest.fixture(scope="module")
def reference(tds, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")/"ce"
    train_run(tds, out, loss="ce", **RUN)
    return out


@pytest.mark.parametrize("method", METHODS)
def test_run_folder_complete_for_every_method(method, tds, reference, tmp_path):
    out = tmp_path/"r"
    res = train_method(tds, out, method=method, method_kw=FAST_KW.get(method), **RUN)
    assert sorted(p.name for p in out.iterdir()) == sorted([*RUN_FILES, ".false_labels"])   # the run files and the mark
    m, ref = pd.read_csv(out/"metrics.csv"), pd.read_csv(reference/"metrics.csv")
    assert list(m.columns) == list(ref.columns) and m["epoch"].tolist() == [0, 1, 2]
    assert m[["test_acc", "test_acc_noisy", "valid_acc", "train_loss"]].notna().all().all()
    assert sorted(p.name for p in (out/"class_report").iterdir()) == [f"epoch_{e:03d}.json" for e in range(3)]
    rep = json.loads((out/"class_report"/"epoch_002.json").read_text())
    assert rep["classes"] == ["red", "green", "blue"] and len(rep["confusion_matrix"]) == 3
    result = json.loads((out/"result.json").read_text())
    assert result == json.loads(json.dumps(res))
    newest = max((p for p in out.rglob("*") if p.is_file()), key=lambda p: p.stat().st_mtime_ns)
    assert newest.name == "result.json"
    for k in ("method", "noise_rate_used", "noise_rate_source", "realised_ratio", "final", "train_time_s"):
        assert k in result
    assert result["method"] == method and json.loads((out/"params.json").read_text())["method"] == method
    assert result["final"]["test_acc"] == pytest.approx(m["test_acc"].iloc[-1])
    st_ = np.load(out/"sample_stats.npz")
    assert st_["loss"].shape == (3, result["n_train"]) and st_["probs"].shape == (result["n_train"], 3)
    family, _ = parse_method(method)
    if family in ("clean-retrain", "incv-coteaching", "dividemix", "relabel-retrain"):
        assert result["n_kept"] == int(st_["kept"].sum()) and 0 <= result["kept_label_precision"] <= 1
    if family == "loss": assert result["noise_rate_source"] == "unused" and result["loss"] == method
    assert load_model(out)(torch.zeros(1, 3, 16, 16)).shape == (1, 3)


def test_methods_cover_losses_and_detectors():
    assert set(LOSSES) <= set(METHODS) and {"coteaching", "incv-coteaching"} <= set(METHODS)
    assert {f"clean-retrain:{d}" for d in DETECTION_METHODS} <= set(METHODS)
    assert {"elr", "coteaching-plus", "dividemix", "relabel-retrain", "forward"} <= set(METHODS)


def test_coteaching_reproducible_on_cpu(tds, tmp_path):
    a = train_method(tds, tmp_path/"a", method="coteaching", noise_rate=0.3, **RUN)
    b = train_method(tds, tmp_path/"b", method="coteaching", noise_rate=0.3, **RUN)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path/"a"/"metrics.csv").drop(columns="time_s"),
                                  pd.read_csv(tmp_path/"b"/"metrics.csv").drop(columns="time_s"))
    assert a["selection"] == b["selection"]


# --- bad input
def test_errors(tds, tmp_path):
    bad = lambda **kw: train_method(tds, tmp_path/"x", **{**RUN, **kw})
    with pytest.raises(ValueError, match=r"unknown method 'jocor'; valid: ce, mae, gce, sce, ls, bootstrap.*coteaching, incv-coteaching, clean-retrain:ema"):
        bad(method="jocor")
    with pytest.raises(ValueError, match=r"unknown detector 'magic' in method 'clean-retrain:magic'; valid detectors: ema, ema_epoch, aum, cl, incv, tv, ensemble"):
        bad(method="clean-retrain:magic")
    with pytest.raises(ValueError, match="unknown method_kw 'warmup' for method 'coteaching'; valid: num_gradual, exponent"):
        bad(method="coteaching", method_kw=dict(warmup=3))
    with pytest.raises(ValueError, match="noise_rate 'high' must be None"): bad(method="coteaching", noise_rate="high")
    with pytest.raises(ValueError, match="noise_rate 1.5 must be None"): bad(method="coteaching", noise_rate=1.5)
    with pytest.raises(ValueError, match="unknown noise_estimator 'guess'; valid: auto, audit, gap, cl, incv, detector"):
        bad(method="coteaching", noise_estimator="guess")
    with pytest.raises(ValueError, match="'gap' needs clean validation labels"): bad(method="coteaching", noise_estimator="gap", corrupt_valid=True)
    with pytest.raises(ValueError, match="'detector'.*clean-retrain"): bad(method="coteaching", noise_estimator="detector")
    with pytest.raises(ValueError, match="'detector'.*clean-retrain"): bad(method="incv-coteaching", noise_estimator="detector")
    with pytest.raises(ValueError, match="loss 'gce' conflicts"): bad(method="mae", loss="gce")
    with pytest.raises(ValueError, match="cbs apply to"): bad(method="mae", cbs=[Callback()])
    with pytest.raises(ValueError, match="unknown detector_kw key 'filter_by'; valid: alpha, ema_k"):
        bad(method="clean-retrain:cl", method_kw=dict(detector_kw=dict(filter_by="both")))
    with pytest.raises(ValueError, match="unknown arch 'vgg'"): bad(method="coteaching", arch="vgg")
    with pytest.raises(ValueError, match="epochs 0 must be >= 1"): bad(method="coteaching", epochs=0)
    with pytest.raises(ValueError, match="warmup 9 must be between 0 and epochs"):
        bad(method="incv-coteaching", method_kw=dict(incv_iter=1, warmup=9))
    assert not (tmp_path/"x").exists(), "a refused run left its folder"
    train_method(tds, tmp_path/"done", method="coteaching", noise_rate=0.2, **RUN)
    with pytest.raises(OutputExistsError, match="already holds a run"):
        train_method(tds, tmp_path/"done", method="coteaching", noise_rate=0.2, **RUN)
    train_method(tds, tmp_path/"done", method="coteaching", noise_rate=0.2, overwrite=True, **RUN)


def test_plain_method_with_another_loss_is_that_loss_method(tds, tmp_path):
    "A sweep with a loss axis and the default method 'ce' trains with the loss, recorded as that method."
    res = train_method(tds, tmp_path/"r", method="ce", loss="sce", **RUN)
    assert (res["method"], res["loss"]) == ("sce", "sce")
    assert json.loads((tmp_path/"r"/"params.json").read_text())["method"] == "sce"


def test_register_method_is_the_whole_method():
    from false_labels.methods.registry import REGISTRY, methods, register_method, method_setup
    from false_labels.detectors.pipeline import METHODS as DETECTION_METHODS
    assert METHODS == (*LOSSES, "coteaching", "incv-coteaching", *(f"clean-retrain:{d}" for d in DETECTION_METHODS),
                       "elr", "coteaching-plus", "dividemix", "relabel-retrain", "forward")

    @register_method("toy-method", dict(share=0.5))
    def _toy(run, detector, noise_rate, estimator, kw, prep_epochs, fit_predict): return dict(learn=None)
    try:
        assert "toy-method" in methods() and "toy-method" not in METHODS
        from false_labels.methods.registry import methods_table
        assert methods_table().set_index("method").loc["toy-method"].settings == "share=0.5"   # the docs' listing
        assert parse_method("toy-method") == ("toy-method", None)
        setup, loss = method_setup("toy-method", method_kw=dict(share=0.3))
        assert callable(setup) and loss == "ce"
        with pytest.raises(ValueError, match="unknown method_kw 'frac' for method 'toy-method'; valid: share"):
            method_setup("toy-method", method_kw=dict(frac=1))
        with pytest.raises(ValueError, match="applies to clean-retrain methods, not to 'toy-method'"):
            method_setup("toy-method", noise_estimator="detector")
    finally: del REGISTRY["toy-method"]
    assert "toy-method" not in methods()
    with pytest.raises(ValueError, match="must not be a loss"): register_method("gce")
    with pytest.raises(ValueError, match="unknown detector 'magic'"): parse_method("clean-retrain:magic")

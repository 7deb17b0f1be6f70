"Detection judges only what it can: no flags from models that learned nothing; an expected precision, a target precision, safe relabels."
import json, re
import numpy as np, pandas as pd
import pytest
from false_labels.cli import NO_LEARNING, main
from test_checks import make

DETECT = ["--method", "cl", "--folds", "2", "--arch", "small_cnn", "--epochs", "4", "--bs", "16", "--device", "cpu",
          "--quiet", "--seed", "0"]

def detect(tmp_path, kind, *extra):
    out = tmp_path/"det"
    rc = main(["detect", "--data", str(make(kind, tmp_path)), "--out", str(out), *DETECT, *extra])
    return rc, out

def test_models_that_learned_nothing_flag_nothing(tmp_path, capsys, one_thread):
    rc, out = detect(tmp_path, "constant_grey", "--ratio", "0.2")
    cap = capsys.readouterr()
    assert rc == NO_LEARNING, cap.err[-2000:]
    last = cap.err.strip().splitlines()[-1]
    assert last.startswith("false-labels detect: did not learn: the out-of-fold models") and "nothing flagged; try" in last
    s = pd.read_csv(out/"suspects.csv")
    assert not s["suspect"].any() and s["score"].notna().all() if "score" in s else not s["suspect"].any()   # scores kept, no flag
    p = json.loads((out/"params.json").read_text())
    assert p["learning_check"]["learned"] is False and any("nothing flagged" in n for n in p["notes"])

def test_expected_precision_noise_interval_and_target(tmp_path, capsys, one_thread):
    rc, out = detect(tmp_path, "good", "--ratio", "0.25")
    cap = capsys.readouterr()
    assert rc == 0, cap.err[-2000:]
    assert "noise rate" in cap.out and "interval" in cap.out and "expected precision" in cap.out and "measured" in cap.out
    p = json.loads((out/"params.json").read_text())
    lo, hi = p["noise_rate"]["interval"]
    assert 0 <= lo <= p["noise_rate"]["rate"] <= hi <= 1 and set(p["noise_rate"]["estimates"]) >= {"cl", "incv"}
    s = pd.read_csv(out/"suspects.csv")
    assert s["p_mislabeled"].between(0, 1).all()
    sel = p["selected"]   # the expected precision's range over the rate's interval holds the point, and the summary prints it
    rlo, rhi = p["expected_precision_range"][sel]
    assert rlo <= p["expected_precision"][sel] <= rhi and "over the noise rate's interval" in cap.out
    page = (out/"review.html").read_text()   # the review page says the same at its top, and each image's p(wrong)
    trust = re.findall(r'<div class="bar trust">([^<]*)</div>', page)
    assert any(f"{sel}: expected precision" in t for t in trust) and any(t.startswith("noise rate") for t in trust)
    rows = json.loads(re.search(r'<script type="application/json" id="fl-data">(.*?)</script>', page, re.S).group(1))["rows"]
    assert len(rows["pw"]) == len(rows["id"]) and all(0 <= x <= 1 for x in rows["pw"])
    rc = main(["detect", "--data", str(tmp_path/"x.npz"), "--out", str(tmp_path/"t"), *DETECT, "--ratio", "0.25", "--target-precision", "0.6"])
    capsys.readouterr()
    t = pd.read_csv(tmp_path/"t"/"suspects.csv")
    assert rc == 0 and t["suspect"].any() and t.loc[t.suspect, "p_mislabeled"].mean() >= 0.6
    assert t["suspect"].sum() >= pd.read_csv(out/"suspects.csv").pipe(lambda d: (d.p_mislabeled >= 0.999).sum())
    r = main(["detect", "--data", str(tmp_path/"x.npz"), "--out", str(tmp_path/"u"), *DETECT, "--target-precision", "1.5"])
    assert r == 2 and "target_precision 1.5 must lie in (0, 1]" in capsys.readouterr().err

def test_relabel_only_where_safe(tmp_path, capsys, one_thread):
    rc, out = detect(tmp_path, "good", "--ratio", "0.25", "--policy", "relabel")
    capsys.readouterr()
    assert rc == 0
    s = pd.read_csv(out/"suspects.csv").set_index("id")
    c = pd.read_csv(out/"corrected_labels.csv").set_index("id")
    relabelled = c.index[c.action == "relabel"]
    assert s.loc[relabelled, "relabel_safe"].all()
    assert set(c.loc[s.index[s.suspect & ~s.relabel_safe], "action"]) <= {"review"}
    assert (c.loc[c.action == "review", "label"] == c.loc[c.action == "review", "given_name"]).all()   # review keeps the label

def test_no_evidence_of_noise_flags_nothing(tmp_path, capsys, one_thread):
    "Right labels (no noise injected, clean validation labels): the noise-rate interval holds 0, so nothing is flagged, and the run says so."
    rc, out = detect(tmp_path, "good", "--ratio", "0")
    cap = capsys.readouterr()
    assert rc == 0, cap.err[-2000:]
    p = json.loads((out/"params.json").read_text())
    assert p["noise_rate"]["evidence"] is False and p["noise_rate"]["interval"][0] == 0
    assert "no evidence of label noise: nothing flagged (--flag-without-evidence flags anyway)" in cap.out
    assert any("nothing flagged: no evidence of label noise" in n for n in p["notes"])
    assert not pd.read_csv(out/"suspects.csv")["suspect"].any()
    rc = main(["detect", "--data", str(tmp_path/"x.npz"), "--out", str(tmp_path/"anyway"), *DETECT, "--ratio", "0", "--flag-without-evidence"])
    cap = capsys.readouterr()
    q = json.loads((tmp_path/"anyway"/"params.json").read_text())
    assert rc == 0 and any("flagged anyway (flag_without_evidence)" in n for n in q["notes"]), cap.err[-2000:]
    assert not any("nothing flagged" in n for n in q["notes"])


COLOURS = ("red", "green", "blue")

def colour_folder(root, n_train=40, n_test=20, wrong_train=12, wrong_test=0, seed=0):
    "A folder of colour photos: train/<class>/ with `wrong_train` photos in a wrong class folder, test/<class>/ with `wrong_test`; -> the misplaced training paths."
    import cv2
    rng, moved = np.random.default_rng(seed), set()
    for split, n, wrong in (("train", n_train, wrong_train), ("test", n_test, wrong_test)):
        if n == 0: continue
        idx = [(k, i) for k in range(len(COLOURS)) for i in range(n)]
        bad = {idx[j] for j in rng.choice(len(idx), wrong, replace=False)}
        for k, i in idx:
            im = rng.integers(0, 90, (16, 16, 3), dtype=np.uint8); im[..., k] += 120
            folder = COLOURS[(k + 1 + int(rng.integers(0, 2))) % 3] if (k, i) in bad else COLOURS[k]
            p = root/split/folder/f"{COLOURS[k]}{i:02d}.png"
            p.parent.mkdir(parents=True, exist_ok=True); assert cv2.imwrite(str(p), im)
            if (k, i) in bad and split == "train": moved.add(str(p))
    return moved

FOLDER = ["--method", "cl", "--folds", "2", "--arch", "small_cnn", "--epochs", "4", "--bs", "16", "--device", "cpu", "--quiet", "--seed", "0"]

@pytest.mark.parametrize("wrong_test,n_test,judged", [(0, 20, True), (6, 20, False), (0, 0, False)])
def test_a_folders_own_test_split_reads_the_rate(tmp_path, capsys, one_thread, wrong_test, n_test, judged):
    "A folder without clean labels: its own test/ labels read the rate (a lower bound): right test labels give evidence and flags, test labels as wrong as the training labels (or no test/) give none."
    moved = colour_folder(tmp_path/"photos", n_test=n_test, wrong_test=wrong_test)
    out = tmp_path/"det"
    rc = main(["detect", "--data", str(tmp_path/"photos"), "--out", str(out), *FOLDER])
    cap = capsys.readouterr()
    assert rc == 0, cap.err[-2000:]
    p = json.loads((out/"params.json").read_text())
    s = pd.read_csv(out/"suspects.csv")
    flagged = set(s.loc[s.suspect, "path"])
    if n_test: assert "test" in p["noise_rate"]["estimates"]
    else: assert "test" not in p["noise_rate"]["estimates"]     # a carved test split holds the training labels' own noise: no reading
    if judged:
        assert p["noise_rate"]["estimator"] == "test" and p["noise_rate"]["evidence"] is True, p["noise_rate"]
        assert "if those labels hold errors too" in p["noise_rate"]["note"] and p["own_test"]["n_images"] == 60
        assert "a lower bound if they hold errors too" in cap.out
        assert 0.5 * len(moved) <= len(flagged) <= 2 * len(moved) and len(flagged & moved) >= 0.5 * len(flagged), (len(flagged), len(flagged & moved))
    else:
        assert p["noise_rate"]["evidence"] is False and not flagged, p["noise_rate"]

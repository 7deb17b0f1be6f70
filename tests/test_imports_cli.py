"""Your own images end to end, as a user runs them: `false-labels import`, then train, detect and sweep on the folders and
CSVs the tests make (flat, split, CSV with a clean column, CIFAR-N style CSV with several label columns)."""
import json, os, subprocess, sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from false_labels.cli import main
from false_labels.training.loaders import as_dataset
from false_labels.data.formats import import_images
from false_labels.training.learner import data_hash

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("blue", "green", "red")
TINY = ["--arch", "small_cnn", "--epochs", "1", "--bs", "32", "--device", "cpu", "--size", "16", "--allow-no-learning"]


def _images(root, n=40, sub=""):
    "n images per class: noise plus a strong colour channel, so a tiny CNN learns them."
    rng, files = np.random.default_rng(len(str(root)) + len(sub)), []
    for k, c in enumerate(CLASSES):
        for i in range(n):
            im = rng.integers(0, 60, (18, 18, 3), dtype=np.uint8); im[..., k] += 150     # BGR: blue, green, red
            f = root/sub/c/f"{c}_{i:02d}.{'png' if i % 2 else 'jpg'}"
            f.parent.mkdir(parents=True, exist_ok=True); assert cv2.imwrite(str(f), im); files.append((f, c))
    return files


@pytest.fixture(scope="module")
def collections(tmp_path_factory):
    base = tmp_path_factory.mktemp("own")
    flat = _images(base/"flat")
    split = base/"split"
    for s, n in (("train", 24), ("valid", 8), ("test", 8)): _images(split, n, s)
    rng = np.random.default_rng(0)
    files = _images(base/"csvimg")
    clean = np.array([CLASSES.index(c) for _, c in files])
    flip = rng.random(len(files)) < 0.2
    given = np.where(flip, (clean + rng.integers(1, 3, len(files))) % 3, clean)
    rel = [str(f.relative_to(base)) for f, _ in files]
    pd.DataFrame(dict(path=rel, label=np.array(CLASSES)[given], clean_label=np.array(CLASSES)[clean])).to_csv(base/"labels.csv", index=False)
    worst = np.where(rng.random(len(files)) < 0.4, (clean + 1) % 3, clean)
    pd.DataFrame(dict(path=rel, clean_label=np.array(CLASSES)[clean], aggre=np.array(CLASSES)[given],
                      worst=np.array(CLASSES)[worst])).to_csv(base/"cifarn.csv", index=False)
    return dict(flat=base/"flat", flat_files=[f for f, _ in flat], split=split, csv=base/"labels.csv", cifarn=base/"cifarn.csv",
                n_flipped=int(flip.sum()))


def run(capsys, *args):
    assert main([str(a) for a in args]) == 0
    return capsys.readouterr().out


def test_import_cli_prints_summary_and_label_sets(collections, tmp_path, capsys, one_thread):
    out = run(capsys, "import", collections["flat"], "--out", tmp_path/"ds", "--size", 16, "--quiet")
    assert "120 images at 16 px, 3 classes (blue, green, red)" in out and "label sets: given" in out
    assert "clean: none" in out and "skipped 0 unreadable" in out and (tmp_path/"ds"/"card.json").exists()
    out = run(capsys, "import", collections["cifarn"], "--out", tmp_path/"dsn", "--size", 16, "--quiet")
    assert "label sets: aggre, clean, worst; given: aggre; clean: clean" in out


def test_detect_flat_folder_scores_every_image_and_points_at_the_files(collections, tmp_path, capsys, one_thread):
    det = tmp_path/"det"
    out = run(capsys, "detect", "--data", collections["flat"], "--out", det, *TINY, "--folds", 2, "--method", "cl,ema",
              "--folders", "copy", "--top", 10, "--quiet")
    assert "nothing was scored" in out
    s = pd.read_csv(det/"suspects.csv")
    originals = {str(f.resolve()) for f in collections["flat_files"]}
    assert len(s) == 120 and {str(Path(p).resolve()) for p in s.path} == originals      # every image, original paths
    assert {"given_name", "suggested_name", "suggested_prob", "score_cl", "score_ema", "rank"} <= set(s.columns)
    assert "true" not in s and "corrupted" not in s                                       # no truth, nothing pretends
    ev = pd.read_csv(det/"evaluation.csv")
    assert not {"f1", "precision", "recall", "auroc"} & set(ev.columns)
    p = json.loads((det/"params.json").read_text())
    assert p["scored"] is False and p["ratio"] == 0 and p["task"] == "label" and p["n_scored"] == 120
    page = (det/"review.html").read_text()
    assert page.count("data:image/jpeg;base64,") == 10 and "<script>" in page     # --top 10: the 10 first suspects
    copied = sorted((det/"clean").rglob("*.*")) + sorted((det/"dirty").rglob("*.*"))
    assert len(copied) == 120
    by_name = {f.name: f for f in collections["flat_files"]}
    for f in copied: assert f.read_bytes() == by_name[f.name].read_bytes() and f.parent.name in CLASSES
    c = pd.read_csv(det/"corrected_labels.csv")
    assert set(c.action) <= {"keep"} and len(c) == 120 - int(s.suspect.sum())


def test_detect_split_folder_holds_out_the_given_test(collections, tmp_path, capsys, one_thread):
    det = tmp_path/"det"
    run(capsys, "detect", "--data", collections["split"], "--out", det, *TINY, "--folds", 2, "--method", "cl", "--quiet")
    s = pd.read_csv(det/"suspects.csv")
    assert len(s) == 3 * (24 + 8) and not s.file.str.startswith("test/").any() and s.file.str.startswith("valid/").any()


def test_detect_csv_with_clean_column_is_scored(collections, tmp_path, capsys, one_thread):
    det = tmp_path/"det"
    out = run(capsys, "detect", "--data", collections["csv"], "--out", det, *TINY, "--folds", 2, "--method", "cl",
              "--policy", "relabel", "--min-prob", 0, "--quiet")
    ev = pd.read_csv(det/"evaluation.csv")
    assert "f1" in ev and "f1" in out
    s = pd.read_csv(det/"suspects.csv")
    assert len(s) == 120 and int(s.corrupted.sum()) == collections["n_flipped"]
    c = pd.read_csv(det/"corrected_labels.csv")
    assert len(c) == 120 and c.action.isin(["relabel", "review"]).sum() == s.suspect.sum()   # relabel only where safe, the rest to review
    assert (c.action == "relabel").sum() <= s.relabel_safe.sum()


def test_train_labels_choose_the_label_set(collections, tmp_path, capsys, one_thread):
    res = {}
    for name in ("aggre", "worst"):
        run(capsys, "train", "--data", collections["cifarn"], "--out", tmp_path/name, "--labels", name, *TINY, "--quiet")
        res[name] = json.loads((tmp_path/name/"result.json").read_text())
    a, w = res["aggre"], res["worst"]
    assert a["labels"] == "aggre" and w["labels"] == "worst" and a["clean_labels"] == "clean" and a["task"] == "label"
    assert a["dataset_hash"] != w["dataset_hash"] and a["n_corrupted"] != w["n_corrupted"] and a["ratio"] == 0


def test_train_without_truth_counts_nothing(collections, tmp_path, capsys, one_thread):
    out = run(capsys, "train", "--data", collections["flat"], "--out", tmp_path/"run", *TINY, "--quiet")
    r = json.loads((tmp_path/"run"/"result.json").read_text())
    assert r["realised_ratio"] is None and r["n_corrupted"] is None and r["scored"] is False and "no clean label set" in out


def test_data_hash_follows_the_label_sets(collections):
    ds = import_images(collections["cifarn"], size=16, progress=False)
    hashes = {data_hash(as_dataset(ds, labels=l, clean_labels=c)) for l, c in (("aggre", None), ("worst", None), ("aggre", "worst"))}
    assert len(hashes) == 3


def test_sweep_over_label_sets(collections, tmp_path, capsys, one_thread):
    sw = tmp_path/"sweep"
    run(capsys, "sweep", "--data", collections["cifarn"], "--out", sw, "--labels", "aggre,worst", "--arch", "small_cnn",
        "--epochs", 1, "--bs", 32, "--device", "cpu", "--size", 16, "--jobs", 1)
    runs = sorted(p.parent for p in sw.glob("runs/*/result.json"))
    assert len(runs) == 2 and runs[0].name != runs[1].name
    got = {json.loads((r/"result.json").read_text())["labels"] for r in runs}
    assert got == {"aggre", "worst"}


def test_no_warning_from_the_command(collections, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for args in (["--help"], ["train", "--data", str(collections["flat"]), "--out", str(tmp_path/"r"), *TINY, "--quiet"]):
        r = subprocess.run([sys.executable, "-m", "false_labels", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
        assert r.returncode == 0, r.stderr
        assert "Warning" not in r.stderr, r.stderr


def test_detect_labels_and_clean_labels_choose_the_sets(collections, tmp_path, capsys, one_thread):
    det = tmp_path/"det"
    run(capsys, "detect", "--data", collections["cifarn"], "--out", det, *TINY, "--folds", 2, "--method", "cl", "--labels", "worst", "--quiet")
    p, s = json.loads((det/"params.json").read_text()), pd.read_csv(det/"suspects.csv")
    df = pd.read_csv(collections["cifarn"])
    assert p["given_set"] == "worst" and p["clean_set"] == "clean" and p["labels"]["given"] == "label set worst" and int(s.corrupted.sum()) == int((df.worst != df.clean_label).sum())
    run(capsys, "detect", "--data", collections["cifarn"], "--out", tmp_path/"d2", *TINY, "--folds", 2, "--method", "cl",
        "--clean-labels", "worst", "--quiet")                                    # a truth alone: the given set checked against it
    s2 = pd.read_csv(tmp_path/"d2"/"suspects.csv")
    assert int(s2.corrupted.sum()) == int((df.worst != df.aggre).sum())


def test_detect_ratio_adds_synthetic_noise_on_request(collections, tmp_path, capsys, one_thread):
    det = tmp_path/"det"
    out = run(capsys, "detect", "--data", collections["flat"], "--out", det, *TINY, "--folds", 2, "--method", "cl", "--ratio", 0.2, "--quiet")
    p, s = json.loads((det/"params.json").read_text()), pd.read_csv(det/"suspects.csv")
    assert p["ratio"] == 0.2 and p["scored"] and p["n_corrupted"] == 24 and int(s.corrupted.sum()) == 24 and "f1" in out

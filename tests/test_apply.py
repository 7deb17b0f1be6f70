"""`false-labels apply` and `apply.apply_decisions`, in process as a user runs them: a decisions file becomes a new label
set (the given labels untouched), train/detect --labels NAME use it with the dropped images left out, the next review
page carries the decisions over, --folders sorts the original files, and bad decisions files get one-line errors."""
import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from false_labels.review.apply import apply_decisions
from false_labels.cli import main
from false_labels.data.dataset import DROPPED, EXCLUDED, load_dataset

CLASSES = ("blue", "green", "red")
TINY = ["--arch", "small_cnn", "--epochs", "1", "--bs", "32", "--device", "cpu", "--allow-no-learning", "--size", "16"]   # tiny runs: learning is not the point


@pytest.fixture
def photos(tmp_path):
    "30 photos per class in class folders (train) and a test/ folder; 3 blue photos misplaced in green/."
    rng = np.random.default_rng(0)
    for split, n in (("train", 30), ("test", 6)):
        for c in CLASSES: (tmp_path/"photos"/split/c).mkdir(parents=True, exist_ok=True)
        for k, c in enumerate(CLASSES):
            for i in range(n):
                im = rng.integers(0, 60, (18, 18, 3), dtype=np.uint8); im[..., k] += 150
                folder = "green" if (c == "blue" and split == "train" and i < 3) else c
                assert cv2.imwrite(str(tmp_path/"photos"/split/folder/f"{c}{i:02d}.jpg"), im)
    return tmp_path


def run(capsys, *args, rc=0):
    got = main([str(a) for a in args])
    out = capsys.readouterr()
    assert got == rc, out.err
    return out.out if rc == 0 else out.err


def _decide(tmp, rows, name="dec.csv"):
    pd.DataFrame(rows, columns=["path", "decision", "label", "decided_at"]).to_csv(tmp/name, index=False)
    return tmp/name


def test_apply_cli_writes_a_label_set_and_reports(photos, capsys):
    tmp = photos
    run(capsys, "import", tmp/"photos", "--out", tmp/"ds", "--size", 16, "--quiet")
    p = lambda c, f: str(tmp/"photos"/"train"/c/f)
    dec = _decide(tmp, [(p("green", "blue00.jpg"), "relabel", "blue", "2026-12-04T18:30:00Z"),
                        (p("green", "blue01.jpg"), "relabel", "blue", ""), (p("green", "blue02.jpg"), "drop", "", ""),
                        (p("red", "red05.jpg"), "keep", "", ""), (p("red", "red06.jpg"), "unsure", "red", "")])
    out = run(capsys, "apply", dec, "--data", tmp/"ds", "--as", "fixed", "--folders", tmp/"sorted", "--mode", "copy")
    assert "label set 'fixed' written" in out and "keep 1, relabel 2, drop 1, unsure 1" in out
    assert "2 label(s) changed, 1 image(s) dropped" in out and "(dropped)" in out and "--labels fixed" in out
    ds = load_dataset(tmp/"ds")
    m, names = ds.manifest, ds.classes("label")
    lab, given = ds.label_set("fixed"), ds.label_set()
    row = {x: i for i, x in enumerate(m.path)}
    assert names[lab[row[p("green", "blue00.jpg")]]] == "blue" and names[given[row[p("green", "blue00.jpg")]]] == "green"   # given untouched
    assert lab[row[p("green", "blue02.jpg")]] == DROPPED and int((lab != given).sum()) == 3
    src = ds.card["label_set_sources"]["fixed"]
    assert src["kind"] == "decisions" and len(src["sha256"]) == 64 and src["decisions"]["drop"] == 1 and src["n_dropped"] == 1
    assert (tmp/"sorted"/"clean"/"blue"/"blue00.jpg").read_bytes() == Path(p("green", "blue00.jpg")).read_bytes()
    assert (tmp/"sorted"/"dropped"/"green"/"blue02.jpg").exists() and len(list((tmp/"sorted"/"test").rglob("*.jpg"))) == 18
    assert Path(p("green", "blue00.jpg")).exists()                                        # never moved
    err = run(capsys, "apply", dec, "--data", tmp/"ds", "--as", "fixed", rc=2)               # an existing name is refused ...
    assert "label set 'fixed' exists already" in err and err.count("\n") == 1
    run(capsys, "apply", dec, "--data", tmp/"ds", "--as", "fixed", "--overwrite")             # ... unless told
    err = run(capsys, "apply", dec, "--data", tmp/"ds", "--as", "given", "--overwrite", rc=2)  # the given labels: never
    assert "holds the dataset's given labels and is never rewritten" in err


@pytest.mark.parametrize("body,msg", [
    ("path,decision,label\n{p},fix,\n", "line 2: decision 'fix' is not one of keep, relabel, drop, unsure"),
    ("path,decision,label\n{p},relabel,purple\n", "line 2: label 'purple' is not a class; valid: blue, green, red"),
    ("path,decision,label\n{p},relabel,\n", "line 2: relabel of"),
    ("path,decision,label\n{p},keep,\n{p},drop,\n", "line 3: path"),
    ("path,decision,label\n/nowhere/x.jpg,keep,\n", "line 2: path '/nowhere/x.jpg' is not an image of the dataset"),
    ("picture,verdict\nx,keep\n", "needs a header with a key column (path, file, id) and 'decision'"),
    ("path,decision,label,decided_at\n{p},keep,,yesterday\n", "decided_at 'yesterday' is not an ISO 8601 time"),
    ("id,decision\n999,keep\n", "line 2: id '999' is not an image of the dataset"),
])
def test_apply_cli_refuses_bad_decisions_files_in_one_line(photos, capsys, body, msg):
    tmp = photos
    run(capsys, "import", tmp/"photos", "--out", tmp/"ds", "--size", 16, "--quiet")
    (tmp/"bad.csv").write_text(body.format(p=tmp/"photos"/"train"/"red"/"red01.jpg"))
    err = run(capsys, "apply", tmp/"bad.csv", "--data", tmp/"ds", rc=2)
    assert msg in err and "bad.csv" in err and err.count("\n") == 1, err
    assert "reviewed" not in load_dataset(tmp/"ds").label_sets                               # nothing written


def test_apply_refuses_missing_file_and_folders_inside_the_collection(photos, capsys):
    tmp = photos
    err = run(capsys, "apply", tmp/"none.csv", "--data", tmp/"photos", "--quiet", rc=2)
    assert "decisions file" in err and "does not exist" in err
    dec = _decide(tmp, [(str(tmp/"photos"/"train"/"red"/"red01.jpg"), "drop", "", "")])
    err = run(capsys, "apply", dec, "--data", tmp/"photos", "--folders", tmp/"photos"/"out", "--quiet", rc=2)
    assert "lies inside the imported collection" in err


def test_detect_on_the_applied_set_leaves_dropped_out_and_carries_decisions_over(photos, capsys, one_thread):
    tmp = photos
    p = lambda c, f: str(tmp/"photos"/"train"/c/f)
    dec = _decide(tmp, [(p("green", "blue00.jpg"), "relabel", "blue", ""), (p("green", "blue01.jpg"), "drop", "", "")])
    run(capsys, "apply", dec, "--data", tmp/"photos", "--as", "round1", "--quiet", *TINY[-2:])   # --data: the photo folder itself
    det = tmp/"det"
    run(capsys, "detect", "--data", tmp/"photos", "--labels", "round1", "--out", det, *TINY, "--folds", 2, "--method", "cl", "--quiet")
    s = pd.read_csv(det/"suspects.csv")
    assert len(s) == 90 - 1 and p("green", "blue01.jpg") not in set(s.path)                  # the dropped image is not scored
    assert s.set_index("path").loc[p("green", "blue00.jpg"), "given_name"] == "blue"           # the relabel is the given label now
    page = (det/"review.html").read_text()
    data = json.loads(page.split('<script type="application/json" id="fl-data">')[1].split("</script>")[0])
    assert sorted(r[1] for r in data["prior"]) == ["drop", "relabel"]                           # carried over, exported again
    from false_labels.training.loaders import as_dataset
    ds = as_dataset(tmp/"photos", size=16, labels="round1")
    assert (ds.manifest.split == EXCLUDED).sum() == 1 and len(ds.split_idx("test")) == 18        # the test split is untouched
    out = run(capsys, "train", "--data", tmp/"photos", "--labels", "round1", "--out", tmp/"run", *TINY, "--quiet")
    assert "labels round1" in out

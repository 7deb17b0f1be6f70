"""Issue 28, "check everything before any work": the inputs whose right answer is to proceed (system folders, a truncated
JPEG among good ones, a damaged import cache, a damaged or incomplete run in a sweep) proceed, correctly and visibly.
The refusals are rows of the bad-input table (`tests/badinputs.py`, INPUT_CASES)."""
import json, shutil, warnings
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from false_labels.cli import main
from false_labels.core import read_json
from false_labels.data.formats import detect_layout, import_images
from false_labels.data.images import jpeg_truncated, read_image


def _png(path, seed, size=12):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8))


def _flat(root, classes=("cat", "dog"), n=3):
    for k, c in enumerate(classes):
        for i in range(n): _png(root/c/f"{i}.png", 10 * k + i)
    return root


def test_system_folders_are_not_classes_nor_splits(tmp_path, capsys):
    "A zip made on a Mac: train/ test/ __MACOSX/ (with ._ resource forks) and .DS_Store files import as a split layout of 2 classes."
    root = tmp_path/"photos"
    for s in ("train", "test"): _flat(root/s)
    _png(root/"__MACOSX"/"train"/"cat"/"._0.png", 99); (root/"__MACOSX"/"train"/"cat"/"._0.png").write_bytes(b"\0\5\26\7")
    (root/".DS_Store").write_bytes(b"\0\0\0\1Bud1"); (root/"train"/".DS_Store").write_bytes(b"\0")
    _png(root/"train"/"cat"/"__MACOSX"/"x.png", 98)                       # a system folder inside a class folder too
    assert detect_layout(root) == "split_image_folder"
    assert main(["import", str(root), "--out", str(tmp_path/"ds"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "12 images" in out and "2 classes (cat, dog)" in out and "splits: train 6, test 6" in out
    flat = _flat(tmp_path/"flat"); (flat/"__MACOSX").mkdir(); _png(flat/"__MACOSX"/"._cat.png", 1)
    ds = import_images(flat, out=tmp_path/"ds2", progress=False)
    assert ds.classes() == ["cat", "dog"] and len(ds) == 6


def test_truncated_jpeg_is_skipped_as_unreadable_and_stderr_stays_quiet(tmp_path, capfd):
    root = _flat(tmp_path/"photos")
    big = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    assert cv2.imwrite(str(root/"cat"/"cut.jpg"), big) and cv2.imwrite(str(root/"dog"/"whole.jpg"), big)
    b = (root/"cat"/"cut.jpg").read_bytes(); (root/"cat"/"cut.jpg").write_bytes(b[: len(b) // 2])
    assert jpeg_truncated(root/"cat"/"cut.jpg") and not jpeg_truncated(root/"dog"/"whole.jpg")
    assert not jpeg_truncated(root/"cat"/"0.png")
    assert read_image(root/"cat"/"cut.jpg") is None and read_image(root/"dog"/"whole.jpg").shape == (64, 64, 3)
    assert main(["import", str(root), "--out", str(tmp_path/"ds"), "--size", "12"]) == 0
    cap = capfd.readouterr()
    assert "Premature end" not in cap.err and "JPEG" not in cap.err                  # libjpeg said nothing
    assert "skipped 1 unreadable file(s) of 8" in cap.err and "cut.jpg" in cap.err and "skipped 1 unreadable" in cap.out
    card = read_json(tmp_path/"ds"/"card.json")
    assert card["skipped"]["count"] == 1 and card["skipped"]["files"][0].endswith("cut.jpg") and card["n"] == 7


def test_a_damaged_cached_import_is_rebuilt(tmp_path, capsys):
    root = _flat(tmp_path/"photos")
    a = import_images(root, size=8, progress=False)
    npy = Path(a.path)/"images.npy"; npy.write_bytes(npy.read_bytes()[:200])      # cut short (a full disk, a killed copy)
    b = import_images(root, size=8, progress=False)
    assert b.path == a.path and len(b) == 6 and b.images.shape == (6, 8, 8, 3)
    assert "is damaged" in capsys.readouterr().err
    (Path(a.path)/"card.json").write_text('{"format": ')                           # a damaged card: rebuilt too
    c = import_images(root, size=8, progress=False, verbose=False)
    assert c.path == a.path and len(c) == 6


def test_classes_in_a_given_order_still_import(tmp_path):
    ds = import_images(_flat(tmp_path/"photos", ("cat", "dog", "bird")), out=tmp_path/"ds", classes=["dog", "cat", "bird"], progress=False)
    assert ds.classes() == ["dog", "cat", "bird"]


def test_numbers_as_class_names_read_as_the_column_says(tmp_path):
    from false_labels.noise.real import read_labels_csv
    f = tmp_path/"l.csv"
    pd.DataFrame(dict(file=["a", "b", "c"], index=[0, 1, 2])).to_csv(f, index=False)
    assert read_labels_csv(f, classes=["1", "2", "3"]).tolist() == [0, 1, 2]
    pd.DataFrame(dict(file=["a", "b", "c"], **{"class": [1, 2, 3]})).to_csv(f, index=False)
    assert read_labels_csv(f, classes=["1", "2", "3"]).tolist() == [0, 1, 2]
    pd.DataFrame(dict(file=["a", "b", "c"], label=[1, 2, 0])).to_csv(f, index=False)
    assert read_labels_csv(f, classes=["0", "1", "2"]).tolist() == [1, 2, 0]        # names equal to their indices: no doubt
    with pytest.raises(ValueError, match="could be class '1' \\(index 0\\) or index 1"): read_labels_csv(f, classes=["1", "2", "3"])


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory, one_thread):
    "A sweep of one tiny finished run."
    from false_labels.data.generate import generate_dataset
    from false_labels.study.sweep import run_sweep
    base = tmp_path_factory.mktemp("sweep")
    generate_dataset(base/"ds", n=120, size=16, seed=0, workers=1, progress=False, gallery=False)
    kw = dict(data=str(base/"ds"), ratios=[0], seeds=1, archs=["small_cnn"], epochs=1, task=4, bs=32, device="cpu", jobs=0, progress=False)
    run_sweep(base/"sweep", **kw)
    return base/"sweep", kw


def test_a_damaged_result_is_named_and_run_again(finished_sweep, tmp_path, capsys):
    from false_labels.results import is_done, sweep_status
    from false_labels.study.sweep import run_sweep
    src, kw = finished_sweep
    sweep = shutil.copytree(src, tmp_path/"sweep")
    run = next((sweep/"runs").iterdir())
    (run/"result.json").write_text((run/"result.json").read_text()[:40])             # "Unterminated string"
    with pytest.raises(ValueError, match="result.json' is damaged"): read_json(run/"result.json")
    assert not is_done(run)
    st = sweep_status(sweep)
    assert st.status.tolist() == ["failed"] and "result.json is missing or damaged" in st.error[0] and str(run) in st.error[0]
    df = run_sweep(sweep, **kw)                                                        # the next sweep runs it again
    assert is_done(run) and len(df) == 1 and read_json(run/"status.json")["attempt"] == 2


def test_a_run_without_metrics_is_named_in_the_table(finished_sweep, tmp_path):
    from false_labels.results import collect_results
    src, _ = finished_sweep
    sweep = shutil.copytree(src, tmp_path/"sweep")
    run = next((sweep/"runs").iterdir())
    (run/"metrics.csv").unlink()
    with pytest.warns(UserWarning, match=f"run {run.name} .*has no metrics.csv: the results table holds its final epoch only"):
        df = collect_results(sweep, write=False)
    assert len(df) == 1 and df.test_acc.notna().all()

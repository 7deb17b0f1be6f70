"""false_labels.review: the suspects table, corrected labels, clean/dirty folders of the original files, the review page.

The browser test opens the review page in a real headless Chromium (marker `browser`; skipped when no Chromium is
found, see tests/test_report.py) and checks that it loads nothing from the network and that every thumbnail decodes.
"""
import os, time

import cv2
import numpy as np
import pandas as pd
import pytest

from false_labels.imports import import_images
from false_labels.review import corrected_labels, export_folders, review_page, suspects_table
from test_report import _DevTools


@pytest.fixture
def toy(tmp_path):
    "A folder of 12 images in two classes, imported, with labels 0 and 6 swapped and a detector that sees it."
    for c, colour in (("apple", (40, 40, 200)), ("lime", (40, 200, 40))):
        (tmp_path/"photos"/c).mkdir(parents=True)
        for i in range(6): cv2.imwrite(str(tmp_path/"photos"/c/f"{i}.jpg"), np.full((20, 20, 3), colour, np.uint8))
    cv2.imwrite(str(tmp_path/"photos"/"lime"/"x.png"), np.full((20, 20, 3), 9, np.uint8))  # same stem, other ext
    ds = import_images(tmp_path/"photos", out=tmp_path/"ds", size=16, progress=False)
    true = ds.label_set()
    given = true.copy(); given[[0, 6]] = 1 - given[[0, 6]]
    probs = np.eye(2)[true] * 0.9 + 0.05
    probs[1] = [0.45, 0.55]                                            # a low-confidence disagreement
    loss = -np.log(probs[np.arange(len(ds)), given])
    sus = suspects_table(ds, np.arange(len(ds)), given, probs, {"loss": loss, "margin": -probs.max(1)},
                         suspect=loss > 0.7, true=true)
    return ds, sus, tmp_path


def test_suspects_table_columns_and_rank(toy):
    ds, sus, _ = toy
    for c in ("id", "path", "file", "given_name", "suggested_name", "suggested_prob", "given_prob", "score_loss",
              "score_margin", "suspect", "rank", "true_name", "corrupted"):
        assert c in sus.columns, c
    assert sus["rank"].tolist() == list(range(1, len(ds) + 1)) and sus["score_loss"].is_monotonic_decreasing
    assert set(sus.id[sus.suspect]) == {0, 1, 6} and sus.corrupted.sum() == 2
    assert os.path.isfile(sus.path[0]) and sus.file[sus.id == 0].item() == "apple/0.jpg"
    with pytest.raises(ValueError, match="unknown rank_by 'x'"):
        suspects_table(ds, [0], [0], np.ones((1, 2)) / 2, {"loss": [0.]}, rank_by="x")


def test_corrected_labels_policies(toy, tmp_path):
    _, sus, _ = toy
    drop = corrected_labels(sus, "drop", out=tmp_path/"c.csv")
    assert set(drop.id) == set(range(13)) - {0, 1, 6} and (drop.action == "keep").all()
    assert pd.read_csv(tmp_path/"c.csv").id.tolist() == drop.id.tolist()
    rel = corrected_labels(sus, "relabel", min_prob=0.8).set_index("id")
    assert rel.loc[0, "label"] == "apple" and rel.loc[0, "action"] == "relabel" and rel.loc[6, "label"] == "lime"
    assert rel.loc[1, "action"] == "drop" and rel.loc[2, "action"] == "keep"
    with pytest.raises(ValueError, match="min_prob 2"): corrected_labels(sus, "relabel", min_prob=2)


@pytest.mark.parametrize("mode", ["link", "copy", "symlink"])
def test_export_folders_byte_for_byte(toy, mode):
    ds, sus, tmp = toy
    counts = export_folders(sus, ds, tmp/f"out_{mode}", mode=mode)
    assert counts == {"clean": 10, "dirty": 3}
    files = sorted(p.relative_to(tmp/f"out_{mode}").as_posix() for p in (tmp/f"out_{mode}").rglob("*") if not p.is_dir())
    assert "dirty/lime/0.jpg" in files and "dirty/apple/0.jpg" in files and "clean/lime/x.png" in files  # given class
    assert len(files) == 14 and ".false_labels" in files     # the 13 images and the mark: false_labels wrote this folder
    for r in sus.itertuples():
        part = "dirty" if r.suspect else "clean"
        got = [p for p in (tmp/f"out_{mode}"/part/r.given_name).iterdir() if p.name in (os.path.basename(r.path), f"{os.path.splitext(os.path.basename(r.path))[0]}_{r.id}{os.path.splitext(r.path)[1]}")]
        assert any(p.read_bytes() == open(r.path, "rb").read() for p in got), r.path
    with pytest.raises(FileExistsError): export_folders(sus, ds, tmp/f"out_{mode}", mode=mode)


def test_review_page_is_self_contained(toy):
    ds, sus, tmp = toy
    page = review_page(sus, ds, tmp/"r.html", top=4).read_text()
    assert page.count('<tr class="suspect"') == 4 and page.count("data:image/png;base64,") == 4
    assert "<script" not in page and "http" not in page.replace("<!doctype html>", "")
    assert "apple/0.jpg" in page and "&rarr;" in page
    with pytest.raises(ValueError, match="top 0"): review_page(sus, ds, tmp/"x.html", top=0)


@pytest.mark.browser
def test_review_page_in_headless_chromium(chromium, toy):
    ds, sus, tmp = toy
    page = review_page(sus, ds, tmp/"r.html", top=8)
    dt = _DevTools(chromium, 60)
    try:
        tid = dt.call("Target.createTarget", url="about:blank")["targetId"]
        sid = dt.call("Target.attachToTarget", targetId=tid, flatten=True)["sessionId"]
        for m in ("Network.enable", "Page.enable", "Runtime.enable"): dt.call(m, sid)
        js = lambda expr: dt.call("Runtime.evaluate", sid, expression=expr, returnByValue=True).get("result", {}).get("value")
        dt.call("Page.navigate", sid, url=page.resolve().as_uri())
        deadline = time.time() + 30
        while time.time() < deadline and not js("document.readyState === 'complete'"): time.sleep(0.2)
        rows = js("document.querySelectorAll('tr.suspect').length")
        decoded = js("Array.from(document.images).filter(i => i.complete && i.naturalWidth === 16).length")
        first = js("document.querySelector('tr.suspect .sugg').textContent")
    finally: dt.close()
    requests = [e["params"]["request"]["url"] for e in dt.events if e.get("method") == "Network.requestWillBeSent"]
    assert rows == 8 and decoded == 8 and first == sus.suggested_name[0]
    assert all(u == page.resolve().as_uri() or u.startswith("data:") for u in requests), requests

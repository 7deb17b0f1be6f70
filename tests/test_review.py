"""false_labels.review.app: the suspects table, corrected labels, clean/dirty folders of the original files, the review page.

The review app itself is driven in a real headless Chromium by tests/test_review_app.py.
"""
import json, os, time

import cv2
import numpy as np
import pandas as pd
import pytest

from false_labels.data.formats import import_images
from false_labels.review.decisions import read_decisions, write_decisions
from false_labels.review.app import corrected_labels, export_folders, review_page, review_widget, suspects_table


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
    page = review_page(sus, ds, tmp/"r.html").read_text()
    data = json.loads(page.split('<script type="application/json" id="fl-data">')[1].split("</script>")[0])
    assert len(data["rows"]["id"]) == len(sus) == page.count("data:image/jpeg;base64,")      # every scored image
    assert data["rows"]["id"][:3] == sus.id[:3].tolist() and data["key_column"] == "path"
    assert "http" not in page and "src=\"" not in page.split("<main")[0]                     # nothing from the network
    assert "apple/0.jpg" in page and sorted(d["name"] for d in data["detectors"]) == ["loss", "margin"]
    assert review_page(sus, ds, tmp/"r4.html", top=4).read_text().count("data:image/jpeg;base64,") == 4
    with pytest.raises(ValueError, match="top 0"): review_page(sus, ds, tmp/"x.html", top=0)


def test_review_page_carries_prior_decisions_keyed_by_id(toy):
    ds, sus, tmp = toy
    write_decisions(pd.DataFrame(dict(id=[0, 6], decision=["relabel", "drop"], label=["apple", ""], decided_at=["", ""])), tmp/"d.csv")
    page = review_page(sus, ds, tmp/"r.html", prior=tmp/"d.csv").read_text()
    data = json.loads(page.split('<script type="application/json" id="fl-data">')[1].split("</script>")[0])
    path = dict(zip(sus.id, sus.path))
    assert sorted(map(tuple, data["prior"])) == sorted([(path[0], "relabel", "apple", ""), (path[6], "drop", "", "")])


def test_review_widget_decides_into_the_decisions_format(toy):
    ds, sus, tmp = toy
    w = review_widget(sus, ds, out=tmp/"w.csv", flagged_only=True)
    assert len(w.order) == int(sus.suspect.sum())
    w.accept(); w.decide("unsure"); w.prev(); w.decide("keep"); w.undo()
    w._build()                                        # what displaying it does (ipywidgets)
    dec = read_decisions(w.export(), ds.classes("label"))
    assert dec.decision.tolist() == ["relabel", "unsure"] and dec.label[0] == sus.suggested_name[0]
    with pytest.raises(ValueError, match="unknown label 'pear'"): w.decide("relabel", "pear")

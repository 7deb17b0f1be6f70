"""A dataset format of one's own, added in this file alone: one scan function and one `register_format`, then
`false-labels import` (in process) and `import_images` read it, the cache keys it, and the error lists it."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from false_labels.cli import main
from false_labels.data.formats import FORMATS, ImportDataError, detect_layout, import_images, register_format
from false_labels.data.store import scan_plan


def scan_jsonl(path, classes=None, human=None):
    "Plan of a .jsonl file of {\"image\": file, \"label\": class, \"fold\": split} lines, files relative to it."
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    files = [str(Path(path).parent/r["image"]) for r in rows]
    stamp = [f"{r['image']}\t{Path(f).stat().st_size}\t{Path(f).stat().st_mtime_ns}" for r, f in zip(rows, files)]
    return scan_plan(files, {"given": [r["label"] for r in rows]}, [r.get("fold", "train") for r in rows], stamp,
                     meta=dict(splits=any("fold" in r for r in rows)))


@pytest.fixture
def jsonl_format(monkeypatch):
    monkeypatch.setattr("false_labels.data.formats.FORMATS", dict(FORMATS))   # the registration ends with the test
    return register_format("jsonl", lambda p: p.is_file() and p.suffix == ".jsonl", scan_jsonl,
                           help="a .jsonl of {image, label[, fold]} lines")


def _source(root):
    root.mkdir(parents=True)
    lines = []
    for i in range(12):
        c = ("red", "blue")[i % 2]
        cv2.imwrite(str(root/f"{i}.png"), np.full((10, 14, 3), (0, 0, 200) if c == "red" else (200, 0, 0), np.uint8))
        lines.append(json.dumps(dict(image=f"{i}.png", label=c, fold="test" if i >= 10 else "train")))
    (root/"labels.jsonl").write_text("\n".join(lines) + "\n")
    return root/"labels.jsonl"


def test_a_registered_format_is_imported_by_the_cli(tmp_path, jsonl_format, monkeypatch, capsys):
    monkeypatch.setenv("FALSE_LABELS_CACHE", str(tmp_path/"cache"))
    src = _source(tmp_path/"src")
    assert detect_layout(src) == "jsonl"
    assert main(["import", str(src), "--out", str(tmp_path/"ds"), "--size", "8", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "layout jsonl" in out and "12 images at 8 px, 2 classes (blue, red)" in out
    ds = import_images(src, out=tmp_path/"ds", size=8, progress=False, verbose=False)   # the same key: the stored dataset
    assert ds.card["source"]["layout"] == "jsonl" and ds.manifest.split.value_counts().to_dict() == {"train": 10, "test": 2}
    assert ds.images[0, 0, 0].tolist() == [200, 0, 0] and ds.classes() == ["blue", "red"]


def test_a_registered_format_is_listed_and_refuses_human_labels(tmp_path, jsonl_format):
    (tmp_path/"x.txt").write_text("not a layout")
    with pytest.raises(ImportDataError, match=r"\(npz\), a .jsonl of \{image, label\[, fold\]\} lines \(jsonl\), or a false_labels"):
        detect_layout(tmp_path/"x.txt")
    src = _source(tmp_path/"src")
    (tmp_path/"h.pt").write_bytes(b"")
    with pytest.raises(ImportDataError, match="a CIFAR-N label file applies to CIFAR batches .* not to a jsonl"):
        import_images(src, out=tmp_path/"o", human=tmp_path/"h.pt", progress=False)


def test_built_in_formats_keep_their_order():
    assert list(FORMATS) == ["dataset", "image_folder", "split_image_folder", "csv", "cifar", "npz"]
    assert [f.name for f in FORMATS.values() if f.fallback] == ["image_folder", "split_image_folder"]


def test_a_registered_format_is_tried_before_the_catch_all_folder_layouts(tmp_path, monkeypatch):
    "A folder of class folders is an image_folder, unless a registered format claims it first (its labels.txt here)."
    monkeypatch.setattr("false_labels.data.formats.FORMATS", dict(FORMATS))
    root = tmp_path/"src"
    for c in ("a", "b"):
        (root/c).mkdir(parents=True); cv2.imwrite(str(root/c/"0.png"), np.zeros((8, 8, 3), np.uint8))
    assert detect_layout(root) == "image_folder"
    (root/"labels.txt").write_text("a/0.png b\nb/0.png a\n")
    register_format("labels_txt", lambda p: (p/"labels.txt").is_file(), lambda p, classes=None, human=None: None)
    assert detect_layout(root) == "labels_txt"


def test_the_generator_and_the_import_store_need_no_torch():
    import subprocess, sys
    code = ("import sys, false_labels.data.generate, false_labels.data.sources, false_labels.data.store, false_labels.data.images; "
            "print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"

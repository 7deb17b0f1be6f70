"""Importing one's own images: every layout, odd image formats, the cache, label sets and the errors."""
import os, pickle

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from false_labels.training.loaders import as_dataset
from false_labels.data.dataset import check_folds, load_dataset
from false_labels.data.formats import ImportDataError, detect_layout, import_images
from false_labels.data.images import fit_square, read_image


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch): monkeypatch.setenv("FALSE_LABELS_CACHE", str(tmp_path/"cache"))


def _img(path, value, shape=(20, 26, 3), dtype=np.uint8):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full(shape, value, dtype))


def _flat(root, classes=("cat", "dog"), n=4):
    for k, c in enumerate(classes):
        for i in range(n): _img(root/c/f"{i}.{'jpg' if i % 2 else 'png'}", 40 * k + 10 * i)
    return root


def test_flat_image_folder(tmp_path):
    root = _flat(tmp_path/"flat")
    ds = import_images(root, out=tmp_path/"ds", size=12, progress=False)
    assert ds.images.shape == (8, 12, 12, 3) and ds.classes() == ["cat", "dog"] and ds.tasks == ("label",)
    assert set(ds.manifest.split) == {"train"} and ds.card["source"]["layout"] == "image_folder"
    assert not ds.card["source"]["splits"] and not ds.has_truth and ds.label_set_names == ("given",)
    assert ds.manifest.file.tolist()[0] == "cat/0.png" and os.path.samefile(ds.manifest.path[0], root/"cat"/"0.png")
    assert ds.images[ds.manifest.file.tolist().index("dog/1.jpg"), 5, 5].tolist() == [50, 50, 50]
    assert isinstance(ds.images, np.memmap) or isinstance(ds.images.base, np.memmap)


def test_split_image_folder_val_is_valid(tmp_path):
    root = tmp_path/"split"
    for s, n in (("train", 4), ("val", 2), ("test", 2)): _flat(root/s, n=n)
    assert detect_layout(root) == "split_image_folder"
    ds = import_images(root, size=8, progress=False)
    assert ds.manifest.split.value_counts().to_dict() == {"train": 8, "valid": 4, "test": 4}
    assert ds.card["source"]["splits"] and (ds.manifest.file.str.startswith("val/") == (ds.manifest.split == "valid")).all()
    assert str(ds.path).startswith(str(tmp_path/"cache"))


def test_cache_hit_and_invalidation(tmp_path):
    root = _flat(tmp_path/"flat")
    a = import_images(root, size=8, progress=False)
    b = import_images(root, size=8, progress=False)
    assert a.path == b.path and a.card["created"] == b.card["created"]
    assert import_images(root, size=10, progress=False).path != a.path         # options are part of the key
    _img(root/"cat"/"new.png", 7)
    c = import_images(root, size=8, progress=False)
    assert c.path != a.path and len(c) == 9                                      # a new file is a new import


def test_odd_formats_and_unreadable(tmp_path, capsys):
    root = _flat(tmp_path/"odd", n=2)
    _img(root/"cat"/"gray.png", 77, shape=(16, 16))
    _img(root/"cat"/"deep.png", 50000, shape=(10, 30, 3), dtype=np.uint16)
    rgba = np.zeros((16, 16, 4), np.uint8); rgba[..., 1] = 200            # transparent everywhere -> white
    cv2.imwrite(str(root/"dog"/"rgba.png"), rgba)
    exif = Image.new("RGB", (30, 10), (255, 0, 0)); ex = exif.getexif(); ex[0x0112] = 6   # rotate 90 on display
    exif.save(root/"dog"/"rot.jpg", exif=ex)
    (root/"dog"/"corrupt.jpg").write_bytes(b"\xff\xd8\xff garbage")
    Image.new("P", (12, 12), 3).save(root/"cat"/"pal.gif")                        # OpenCV cannot: PIL reads it
    (root/"dog"/"notes.txt").write_text("not an image, not listed")
    ds = import_images(root, out=tmp_path/"ds", size=8, progress=False)
    assert len(ds) == 9 and ds.card["skipped"]["count"] == 1 and ds.card["skipped"]["files"][0].endswith("corrupt.jpg")
    assert "skipped 1 unreadable file(s) of 10" in capsys.readouterr().err
    f = ds.manifest.file.tolist()
    assert ds.images[f.index("cat/gray.png")].min() == 77 and ds.images[f.index("cat/deep.png")].min() == 50000 >> 8
    assert ds.images[f.index("dog/rgba.png")].min() == 255 and ds.images[f.index("cat/pal.gif")].std() == 0
    assert read_image(root/"dog"/"rot.jpg").shape == (30, 10, 3)                # EXIF orientation applied
    assert read_image(root/"dog"/"corrupt.jpg") is None


def test_resize_policy_shorter_side_then_centre_crop():
    im = np.zeros((20, 40, 3), np.uint8); im[:, 10:30] = 255
    out = fit_square(im, 10)
    assert out.shape == (10, 10, 3) and out.min() == 255                        # the centre 20x20 is the white band


def _csv_folder(root):
    _flat(root/"imgs")
    rows = [(f"imgs/{c}/{i}.{'jpg' if i % 2 else 'png'}", c, c) for c in ("cat", "dog") for i in range(4)]
    df = pd.DataFrame(rows, columns=["path", "label", "clean_label"])
    df.loc[0, "label"] = "dog"
    df["split"] = ["train"] * 6 + ["test"] * 2
    df["worse_label"] = ["dog"] * 8
    df["note"] = ["x"] * 8
    return df


@pytest.mark.parametrize("sep,ext", [(",", "csv"), ("\t", "tsv")])
def test_csv_and_tsv_with_label_sets(tmp_path, sep, ext):
    df = _csv_folder(tmp_path)
    df.to_csv(tmp_path/f"labels.{ext}", sep=sep, index=False)
    ds = import_images(tmp_path/f"labels.{ext}", out=tmp_path/"ds", progress=False)
    assert ds.label_set_names == ("given", "clean", "worse_label") and ds.clean_label_set == "clean"
    assert ds.card["source"]["ignored_columns"] == ["note"] and ds.manifest.split.value_counts()["test"] == 2
    assert (ds.label_set("given") != ds.label_set("clean")).sum() == 1
    v = ds.with_labels("worse_label")
    assert (v.manifest.given == 1).all() and v.labels().tolist() == ds.label_set("clean").tolist() and v.has_truth


def test_bad_csvs_name_the_first_bad_rows(tmp_path):
    df = _csv_folder(tmp_path)
    cases = [(df.drop(columns=["path"]), "needs a path column"),
             (df.assign(path=df.path.where(df.index != 3, "imgs/cat/nope.png")), "does not exist: line 5 ('imgs/cat/nope.png')"),
             (df.assign(split=df.split.where(df.index != 1, "dev")), "a split other than train, valid, val, test: line 3 ('dev')"),
             (df.assign(label=df.label.where(df.index != 2, "")), "an empty 'label': line 4"),
             (pd.concat([df, df.iloc[:1]]), "line 2 ('imgs/cat/0.png') and line 10 ('imgs/cat/0.png') name the same file")]
    for i, (bad, msg) in enumerate(cases):
        bad.to_csv(tmp_path/f"bad{i}.csv", index=False)
        with pytest.raises(ImportDataError, match=msg.replace("(", r"\(").replace(")", r"\)")):
            import_images(tmp_path/f"bad{i}.csv", out=tmp_path/f"o{i}", progress=False)
    df.to_csv(tmp_path/"ok.csv", index=False)
    with pytest.raises(ImportDataError, match=r"a class not in \['bird', 'cat'\]: line 2 \('dog'\)"):
        import_images(tmp_path/"ok.csv", out=tmp_path/"o", classes=["bird", "cat"], progress=False)


def test_npz(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 255, (30, 10, 14, 3), dtype=np.uint8), np.arange(30) % 3
    np.savez(tmp_path/"a.npz", images=x, labels=y, clean_labels=(y + (np.arange(30) < 3)) % 3, classes=np.array(["a", "b", "c"]),
             other=np.zeros(30, np.int64))
    ds = import_images(tmp_path/"a.npz", progress=False)
    assert ds.images.shape == (30, 10, 10, 3) and ds.classes() == ["a", "b", "c"]
    assert ds.label_set_names == ("given", "clean", "other") and (ds.label_set() != ds.label_set("clean")).sum() == 3
    np.savez(tmp_path/"g.npz", x=rng.integers(0, 255, (6, 8, 8), dtype=np.uint8), y=np.array([0, 1] * 3))
    g = import_images(tmp_path/"g.npz", progress=False)
    assert g.images.shape == (6, 8, 8, 3) and g.classes() == ["0", "1"]


def _fake_cifar(root, human=True):
    d = root/"cifar-10-batches-py"; d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"c{i}".encode() for i in range(10)]
    with open(d/"batches.meta", "wb") as f: pickle.dump({b"label_names": names}, f)
    labels = []
    for b in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        lab = (np.arange(20) % 10).tolist()
        data = rng.integers(0, 255, (20, 3072), dtype=np.uint8)
        with open(d/b, "wb") as f: pickle.dump({b"data": data, b"labels": lab, b"filenames": [b"x.png"] * 20}, f)
        if b != "test_batch": labels += lab
    clean = np.array(labels)
    if human:
        worse = clean.copy(); worse[:30] = (worse[:30] + 1) % 10
        aggre = clean.copy(); aggre[:5] = (aggre[:5] + 1) % 10
        torch.save(dict(clean_label=clean, worse_label=worse, aggre_label=aggre, random_label1=worse.copy(),
                        random_label2=clean.copy(), random_label3=aggre.copy()), root/"CIFAR-10_human.pt")
    return d, data


def test_cifar_batches_with_cifar_n(tmp_path):
    d, last = _fake_cifar(tmp_path)
    assert detect_layout(tmp_path) == detect_layout(d) == "cifar"
    ds = import_images(tmp_path, progress=False)
    assert ds.images.shape == (120, 32, 32, 3) and ds.classes()[:2] == ["c0", "c1"]
    assert ds.manifest.split.value_counts().to_dict() == {"train": 100, "test": 20}
    assert set(ds.label_set_names) == {"aggre", "worst", "random1", "random2", "random3", "clean"}
    assert ds.given_label_set == "aggre" and ds.clean_label_set == "clean"
    assert (ds.label_set("worst") != ds.label_set("clean")).sum() == 30 and (ds.label_set() != ds.label_set("clean")).sum() == 5
    assert np.array_equal(ds.images[-1], last[-1].reshape(3, 32, 32).transpose(1, 2, 0))
    v = as_dataset(tmp_path, labels="worst", fill_splits=False)
    assert v.has_truth and (v.manifest.given != v.labels()).sum() == 30 and v.card["given_set"] == "worst"


def test_cifar_without_human_labels_has_no_truth(tmp_path):
    _fake_cifar(tmp_path, human=False)
    ds = import_images(tmp_path/"cifar-10-batches-py", progress=False)
    assert ds.label_set_names == ("given",) and not ds.has_truth
    assert not as_dataset(ds).has_truth


def test_errors(tmp_path):
    (tmp_path/"empty").mkdir()
    with pytest.raises(ImportDataError, match="accepted: <root>/<class>/"): import_images(tmp_path/"empty")
    _flat(tmp_path/"one", classes=("cat",))
    with pytest.raises(ImportDataError, match="found one class only \\('cat'\\)"): import_images(tmp_path/"one", progress=False)
    with pytest.raises(ValueError, match="class 'cat' has 4 image\\(s\\) but 5-fold"):
        check_folds([0] * 4 + [1] * 9, ["cat", "dog"], folds=5)


def test_as_dataset_imports_a_folder_and_carves_splits(tmp_path):
    root = _flat(tmp_path/"flat", n=10)
    ds = as_dataset(root, size=8)
    assert set(ds.manifest.split) == {"train", "valid", "test"} and ds.path == import_images(root, size=8).path
    assert set(as_dataset(root, size=8, fill_splits=False).manifest.split) == {"train"}
    assert load_dataset(ds.path).card["source"]["layout"] == "image_folder"


def test_labels_csv_on_an_imported_folder(tmp_path):
    root = _flat(tmp_path/"flat")
    ds = import_images(root, size=8, progress=False)
    files = ds.manifest.file.tolist()
    given = ["dog" if f == "cat/0.png" else f.split("/")[0] for f in files]
    pd.DataFrame(dict(path=files, label=given)).to_csv(tmp_path/"given.csv", index=False)
    v = as_dataset(root, size=8, labels=tmp_path/"given.csv", fill_splits=False)
    assert (v.manifest.given != v.labels()).sum() == 1 and v.has_truth and v.card["clean_set"] == "given"
    with pytest.raises(ValueError, match="unknown label set 'clean'; valid: given"): ds.with_labels(clean_labels="clean")
    with pytest.raises(ValueError, match="give labels or labels_csv, not both"):
        as_dataset(root, size=8, labels="given", labels_csv=tmp_path/"given.csv")


def test_cifar100_batches_and_noisy_label(tmp_path):
    d = tmp_path/"cifar-100-python"; d.mkdir()
    rng = np.random.default_rng(1)
    with open(d/"meta", "wb") as f: pickle.dump({b"fine_label_names": [f"f{i}".encode() for i in range(100)]}, f)
    for name, n in (("train", 200), ("test", 100)):
        with open(d/name, "wb") as f:
            pickle.dump({b"data": rng.integers(0, 255, (n, 3072), dtype=np.uint8), b"fine_labels": (np.arange(n) % 100).tolist(),
                         b"coarse_labels": [0] * n}, f)
    clean = np.arange(200) % 100
    noisy = clean.copy(); noisy[:7] = (noisy[:7] + 1) % 100
    torch.save(dict(clean_label=clean, noisy_label=noisy), tmp_path/"CIFAR-100_human.pt")
    ds = import_images(d, progress=False)
    assert ds.images.shape == (300, 32, 32, 3) and ds.n_classes() == 100 and ds.classes()[99] == "f99"
    assert ds.given_label_set == "noisy" and (ds.label_set() != ds.label_set("clean")).sum() == 7
    torch.save(dict(noisy_label=noisy[:10]), tmp_path/"short.pt")
    with pytest.raises(ImportDataError, match="do not match the 200 training images"):
        import_images(d, human=tmp_path/"short.pt", progress=False)


def test_array_sources_export_as_png(tmp_path):
    from false_labels.review.app import export_folders, suspects_table
    _fake_cifar(tmp_path, human=False)
    ds = import_images(tmp_path, progress=False)
    assert ds.manifest.path.eq("").all() and ds.manifest.file[0] == "cifar-10-batches-py/train#0"
    sus = suspects_table(ds, [0, 1], ds.label_set()[:2], np.full((2, 10), 0.1), {"loss": [1., 0.]}, suspect=[True, False])
    export_folders(sus, ds, tmp_path/"out")
    back = cv2.imread(str(tmp_path/"out"/"dirty"/"c0"/"000000.png"))[..., ::-1]
    assert np.array_equal(back, ds.images[0])


def test_large_jpeg_reduced_decode_keeps_orientation(tmp_path):
    rng = np.random.default_rng(0)
    im = cv2.GaussianBlur(rng.integers(0, 255, (600, 900, 3)).astype(np.uint8), (9, 9), 0)
    im[:, :450] = 255                                                  # left half white
    pil = Image.fromarray(im); ex = pil.getexif(); ex[0x0112] = 6      # displayed rotated: white on top
    pil.save(tmp_path/"big.jpg", exif=ex, quality=95)
    assert os.path.getsize(tmp_path/"big.jpg") > 65536
    out = read_image(tmp_path/"big.jpg", 64)
    full = fit_square(read_image(tmp_path/"big.jpg"), 64)
    assert out.shape == (64, 64, 3) and out[:20].min() > 200 and out[-20:].mean() < 200
    assert np.abs(out.astype(int) - full.astype(int)).mean() < 8


def test_photos_are_stored_at_a_training_size_by_default(tmp_path, capsys):
    "2000x1500 JPEGs with no --size: stored at most DEFAULT_MAX_SIDE (<= 64 KB per image), and the import says so first."
    from false_labels.data.store import DEFAULT_MAX_SIDE
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (tmp_path/"photos"/cls).mkdir(parents=True)
        for i in range(3):
            im = cv2.resize(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8), (2000, 1500), interpolation=cv2.INTER_LINEAR)
            cv2.imwrite(str(tmp_path/"photos"/cls/f"{i}.jpg"), im)
    ds = import_images(tmp_path/"photos", tmp_path/"ds", progress=False)
    err = capsys.readouterr().err
    assert ds.size == DEFAULT_MAX_SIDE == 128
    assert (tmp_path/"ds"/"images.npy").stat().st_size <= 6 * 64 * 1024 + 4096     # the .npy header aside
    assert "6 image(s) -> 128 px squares" in err and "median shorter side 1500 px; --size to store larger" in err
    big = import_images(tmp_path/"photos", tmp_path/"big", size=300, progress=False)   # an explicit size is kept
    assert big.size == 300

"Behaviour of false_labels.data.generate and false_labels.data.dataset: determinism, balance, splits, files, sources, errors."
import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from false_labels.data.alter import CLASSES, SUBCLASSES, PARENT, MIN_EFFECT, is_valid_polygon
from false_labels.core import file_hash, read_json
from false_labels.data.dataset import SPLITS, Dataset, load_dataset, write_dataset
import false_labels.data.generate as gen
from false_labels.data.sources import EmbeddedSource, FolderSource, ImageSource
from false_labels.data.generate import (generate_dataset, image_seed, sample_labels, assign_bases, summary)

COLUMNS = ['id', 'split', 'label14', 'label4', 'subclass', 'cls', 'base', 'crop', 'flip', 'polygon', 'seed', 'effect']


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return generate_dataset(tmp_path_factory.mktemp("g")/"ds", n=280, size=32, seed=3, workers=1, progress=False)


def _photos(folder, n=4, size=(60, 80), seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        img = cv2.GaussianBlur(rng.integers(0, 256, (*size, 3), dtype=np.uint8), (5, 5), 0)
        ext = ('.png', '.jpg', '.webp', '.tiff')[i % 4]
        sub = folder/('a' if i % 2 else 'b/c')
        sub.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(sub/f"img{i}{ext}"), img)
        paths.append(sub/f"img{i}{ext}")
    return paths


def test_byte_identical_for_any_number_of_workers(tmp_path):
    a = generate_dataset(tmp_path/"w1", n=300, size=32, seed=11, workers=1, progress=False)
    b = generate_dataset(tmp_path/"w2", n=300, size=32, seed=11, workers=2, progress=False)
    for f in ("images.npy", "manifest.csv"):
        assert (tmp_path/"w1"/f).read_bytes() == (tmp_path/"w2"/f).read_bytes(), f
    assert a.card["hashes"] == b.card["hashes"]
    c = generate_dataset(tmp_path/"s12", n=300, size=32, seed=12, workers=1, progress=False)
    assert not np.array_equal(np.asarray(a.images), np.asarray(c.images))


def test_balanced_counts(ds):
    counts = np.bincount(ds.labels(14), minlength=14)
    assert (counts == 20).all()
    np.testing.assert_array_equal(ds.labels(4), PARENT[ds.labels(14)])
    assert np.ptp(np.bincount(sample_labels(141, 0), minlength=14)) <= 1


def test_hierarchical_sampling():
    lab = sample_labels(28000, 0, 'hierarchical')
    fam = np.bincount(PARENT[lab], minlength=4) / len(lab)
    np.testing.assert_allclose(fam, 0.25, atol=0.015)  # blur gets a quarter, as in the seed project
    sub = np.bincount(lab, minlength=14) / len(lab)
    np.testing.assert_allclose(sub[:4], 0.0625, atol=0.01)


def test_splits_are_stratified_and_seeded(ds, tmp_path):
    m = ds.manifest
    assert set(m.split) == set(SPLITS)
    tab = pd.crosstab(m.subclass, m.split)
    assert (tab['train'] == 14).all() and (tab['valid'] == 2).all() and (tab['test'] == 4).all()
    idx = np.concatenate([ds.split_idx(s) for s in SPLITS])
    np.testing.assert_array_equal(np.sort(idx), np.arange(len(ds)))
    other = generate_dataset(tmp_path/"o", n=280, size=32, seed=3, workers=1, progress=False, splits=(0.5, 0.25, 0.25))
    assert (pd.crosstab(other.manifest.subclass, other.manifest.split)['train'] == 10).all()
    assert other.card["splits"] == {"train": 0.5, "valid": 0.25, "test": 0.25}


def test_manifest_and_card(ds):
    m, c = ds.manifest, ds.card
    assert list(m.columns) == COLUMNS
    np.testing.assert_array_equal(m.id, np.arange(len(ds)))
    assert (m.subclass == np.asarray(SUBCLASSES)[m.label14]).all() and (m.cls == np.asarray(CLASSES)[m.label4]).all()
    assert c["format"] == "false_labels.dataset/1" and c["n"] == 280 and c["size"] == 32 and c["seed"] == 3
    assert set(c) >= {"format", "n", "size", "seed", "splits", "counts", "params", "hashes", "versions", "created"}
    assert c["counts"]["split"] == m.split.value_counts().to_dict()
    assert c["counts"]["14"] == m.subclass.value_counts().reindex(SUBCLASSES).to_dict()
    assert c["counts"]["4"] == m.cls.value_counts().reindex(CLASSES).to_dict()
    for f in ("images.npy", "manifest.csv"):
        assert c["hashes"][f] == "sha256:" + file_hash(ds.path/f, 64)
    assert c["versions"]["numpy"] == np.__version__
    assert c["params"]["source"]["kind"] == "embedded" and c["params"]["sampling"] == "balanced"
    assert ds.images.shape == (280, 32, 32, 3) and ds.images.dtype == np.uint8
    assert ds.tasks == (4, 14) and ds.n_classes(4) == 4 and ds.classes(14) == list(SUBCLASSES)
    names = set(EmbeddedSource().names)
    for row in m.itertuples():
        assert row.base in names
        x, y, w, h = json.loads(row.crop)
        assert w == h and min(x, y) >= 0 and w > 0
        assert row.flip in (0, 1, 2, 3)
        assert is_valid_polygon(json.loads(row.polygon), 32, 32)
        assert row.seed == image_seed(3, row.id)
        assert row.effect >= MIN_EFFECT[row.subclass]  # every alteration is visible
    assert (ds.path/"gallery.png").exists()
    g = cv2.imread(str(ds.path/"gallery.png"))
    assert g is not None and g.shape[0] > 14 * 64


def test_images_are_distinct_and_bases_balanced(ds):
    flat = np.asarray(ds.images).reshape(len(ds), -1)
    assert len(np.unique(flat, axis=0)) == len(ds)
    per_base = ds.manifest.base.value_counts()
    assert per_base.max() - per_base.min() <= 20 + 8  # each photo ~n/k times (redraws move a few)


def test_summary(ds):
    s = summary(ds)
    assert all(name in s for name in SUBCLASSES) and "280 images 32x32" in s and "train" in s
    assert "generator version 2" in s and "generator version 1" in summary(load_dataset(FIXTURE_DATA))
    assert len(s.splitlines()) < 45


def test_png_export(tmp_path):
    d = generate_dataset(tmp_path/"p", n=120, size=32, seed=0, workers=1, png=True, progress=False, gallery=False)
    files = sorted((tmp_path/"p"/"png").rglob("*.png"))
    assert len(files) == 120
    for row in d.manifest.itertuples():
        f = tmp_path/"p"/"png"/row.cls/row.subclass/f"{row.id:03d}.png"
        np.testing.assert_array_equal(cv2.imread(str(f))[..., ::-1], d.images[row.id])
    assert not (tmp_path/"p"/"gallery.png").exists()


def test_folder_source_skips_corrupt_files(tmp_path):
    src = tmp_path/"src"
    good = _photos(src, n=4)
    (src/"broken.jpg").write_bytes(b"not an image at all")
    data = good[1].read_bytes()  # the .jpg
    (src/"truncated.jpg").write_bytes(data[:len(data) // 2])
    (src/"notes.txt").write_text("ignored: not an image extension")
    with pytest.warns(UserWarning, match="skipped 2 unreadable"):
        d = generate_dataset(tmp_path/"f", n=112, size=32, source=src, workers=1, progress=False)
    st = d.card["stats"]
    assert st["unreadable"] == 2 and set(st["unreadable_files"]) == {"broken.jpg", "truncated.jpg"}
    assert d.card["params"]["source"]["kind"] == "folder" and d.card["params"]["source"]["n_images"] == 6
    assert set(d.manifest.base) <= {p.relative_to(src).as_posix() for p in good}
    assert "unreadable" in summary(d)


def test_folder_of_unreadable_files(tmp_path):
    (tmp_path/"bad").mkdir()
    (tmp_path/"bad"/"x.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="none of the 1 source images could be read"):
        generate_dataset(tmp_path/"o", n=120, size=32, source=tmp_path/"bad", workers=1, progress=False)
    assert not (tmp_path/"o").exists()


def test_small_images_are_upscaled(tmp_path):
    _photos(tmp_path/"small", n=3, size=(20, 24))
    with pytest.warns(UserWarning, match="smaller than 48px and were upscaled"):
        d = generate_dataset(tmp_path/"u", n=120, size=48, source=tmp_path/"small", workers=1, progress=False)
    assert d.card["stats"]["upscaled"] == 120 and d.images.shape[1:] == (48, 48, 3)
    assert "upscaled" in summary(d)


def test_array_source(tmp_path):
    arr = np.stack([cv2.GaussianBlur(np.random.default_rng(i).integers(0, 256, (40, 40, 3), dtype=np.uint8), (3, 3), 0)
                    for i in range(5)])
    a = generate_dataset(tmp_path/"a1", n=120, size=32, source=arr, workers=1, progress=False)
    b = generate_dataset(tmp_path/"a2", n=120, size=32, source=arr, workers=2, progress=False)
    assert (tmp_path/"a1"/"images.npy").read_bytes() == (tmp_path/"a2"/"images.npy").read_bytes()
    assert set(a.manifest.base) <= {f"array:{i}" for i in range(5)}
    assert not (tmp_path/"a2"/".bases.npy").exists()


@pytest.mark.parametrize("kw,msg", [
    (dict(n=0), "n=0 is out of range"), (dict(n=-5), "n=-5"), (dict(n=2.5), "n=2.5"), (dict(n=True), "n=True"),
    (dict(size=8), "size=8 is out of range"), (dict(size=5000), "size=5000"), (dict(seed=-1), "seed=-1"),
    (dict(workers=0), "workers=0"), (dict(splits=(0.8, 0.3, 0.1)), r"splits \(0.8, 0.3, 0.1\)"),
    (dict(sampling="uniform"), "unknown sampling 'uniform'; valid: balanced, hierarchical"),
    (dict(source=np.zeros((3, 8, 8), np.uint8)), "source"),
    (dict(source=np.zeros((3, 8, 8, 3), np.float32)), "uint8"),
    (dict(source=42), "source must be None, a folder"),
])
def test_bad_arguments(tmp_path, kw, msg):
    with pytest.raises(ValueError, match=msg):
        generate_dataset(tmp_path/"x", **{"n": 14, "size": 32, "workers": 1, "progress": False, **kw})
    assert not (tmp_path/"x").exists()


def test_bad_sources(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        generate_dataset(tmp_path/"x", n=120, size=32, source=tmp_path/"missing", progress=False)
    (tmp_path/"empty"/"sub").mkdir(parents=True)
    (tmp_path/"empty"/"sub"/"a.txt").write_text("x")
    with pytest.raises(ValueError, match="holds no images"):
        generate_dataset(tmp_path/"x", n=120, size=32, source=tmp_path/"empty", progress=False)
    (tmp_path/"file.png").write_bytes(b"x")
    with pytest.raises(ValueError, match="is not a folder"):
        generate_dataset(tmp_path/"x", n=120, size=32, source=tmp_path/"file.png", progress=False)
    assert not (tmp_path/"x").exists()


def test_existing_output_is_refused_unless_overwrite(tmp_path):
    (tmp_path/"out").mkdir(); (tmp_path/"out"/"keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        generate_dataset(tmp_path/"out", n=120, size=32, workers=1, progress=False)
    assert (tmp_path/"out"/"keep.txt").read_text() == "mine"
    with pytest.raises(FileExistsError, match="did not write"):   # the user's files: not even with overwrite (issue 28)
        generate_dataset(tmp_path/"out", n=120, size=32, workers=1, progress=False, overwrite=True)
    assert (tmp_path/"out"/"keep.txt").read_text() == "mine"
    (tmp_path/"out"/"keep.txt").unlink()
    generate_dataset(tmp_path/"out", n=120, size=24, workers=1, progress=False)
    d = generate_dataset(tmp_path/"out", n=120, size=32, workers=1, progress=False, overwrite=True)   # its own: replaced
    assert d.size == 32 and len(d) == 120
    (tmp_path/"empty").mkdir()
    assert len(generate_dataset(tmp_path/"empty", n=120, size=32, workers=1, progress=False)) == 120  # empty is fine


def test_failure_midway_leaves_nothing(tmp_path, monkeypatch):
    make = gen._Maker.make
    def boom(self, i):
        if i == 50: raise RuntimeError("disk on fire")
        return make(self, i)
    monkeypatch.setattr(gen._Maker, "make", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        generate_dataset(tmp_path/"out", n=100, size=32, workers=1, progress=False)
    assert list(tmp_path.iterdir()) == []  # no output folder, no hidden partial folder
    monkeypatch.setattr(gen._Maker, "make", make)
    old = generate_dataset(tmp_path/"out", n=120, size=32, workers=1, progress=False)
    h = old.card["hashes"]
    monkeypatch.setattr(gen._Maker, "make", boom)
    with pytest.raises(RuntimeError):
        generate_dataset(tmp_path/"out", n=100, size=32, workers=1, progress=False, overwrite=True)
    assert load_dataset(tmp_path/"out").card["hashes"] == h  # a failed overwrite keeps the old dataset
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_load_dataset_errors(tmp_path, ds):
    with pytest.raises(ValueError, match="does not exist"): load_dataset(tmp_path/"nope")
    (tmp_path/"d").mkdir()
    with pytest.raises(ValueError, match="not a false_labels dataset: missing images.npy, manifest.csv, card.json"):
        load_dataset(tmp_path/"d")
    for f in ("images.npy", "manifest.csv", "card.json"): (tmp_path/"d"/f).write_bytes((ds.path/f).read_bytes())
    assert len(load_dataset(tmp_path/"d")) == len(ds)
    ds.manifest.iloc[:10].to_csv(tmp_path/"d"/"manifest.csv", index=False)
    with pytest.raises(ValueError, match="manifest.csv' does not match the SHA-256 in card.json"): load_dataset(tmp_path/"d")
    with pytest.raises(ValueError, match="manifest has 10 rows but there are 280 images"): load_dataset(tmp_path/"d", verify=False)
    card = read_json(ds.path/"card.json"); card["format"] = "other/9"
    (tmp_path/"d"/"card.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="format is 'other/9'"): load_dataset(tmp_path/"d")


def test_from_arrays_and_write_dataset(tmp_path):
    rng = np.random.default_rng(0)
    imgs, labels = rng.integers(0, 256, (50, 8, 8, 3), dtype=np.uint8), np.arange(50) % 5
    d = Dataset.from_arrays(imgs, labels, list("abcde"), seed=1)
    assert d.tasks == ("label",) and d.n_classes("label") == 5 and d.classes("folder") == list("abcde")
    np.testing.assert_array_equal(d.labels("label"), labels)
    assert sorted(np.concatenate([d.split_idx(s) for s in SPLITS]).tolist()) == list(range(50))
    assert (pd.crosstab(labels, d.manifest.split)["train"] == 7).all()
    w = write_dataset(tmp_path/"w", d.images, d.manifest, d.card)
    np.testing.assert_array_equal(w.images, imgs)
    np.testing.assert_array_equal(w.labels("label"), labels)
    assert w.card["hashes"]["images.npy"] == "sha256:" + file_hash(tmp_path/"w"/"images.npy", 64)
    with pytest.raises(ValueError, match="manifest has 10 rows but there are 50 images"):
        write_dataset(tmp_path/"bad", d.images, d.manifest.iloc[:10], d.card)
    with pytest.raises(ValueError, match="unknown task 4; valid: label"): d.labels(4)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"): Dataset.from_arrays(imgs, labels, ["a", "b"])
    given = np.array(["train"] * 40 + ["test"] * 10)
    np.testing.assert_array_equal(Dataset.from_arrays(imgs, labels, list("abcde"), splits=given).split_idx("test"), np.arange(40, 50))
    with pytest.raises(ValueError, match="bad: \\['val'\\]"):
        Dataset.from_arrays(imgs, labels, list("abcde"), splits=["val"] * 50)
    assert not (tmp_path/"bad").exists()


# --- generator versions (issue 18): version 2 is the default and faster; version 1 still makes old datasets

FIXTURE_DATA = Path(__file__).parent/"fixtures"/"sweep_v1"/"data"


def test_version_1_remakes_an_old_dataset_byte_for_byte(tmp_path):
    "tests/fixtures/sweep_v1/data was made before version 2 existed (its card has no generator_version)."
    old = load_dataset(FIXTURE_DATA)
    assert "generator_version" not in old.card["params"]
    p = old.card["params"]
    d = generate_dataset(tmp_path/"v1", n=p["n"], size=p["size"], seed=p["seed"], workers=1, progress=False, version=1)
    assert (tmp_path/"v1"/"images.npy").read_bytes() == (FIXTURE_DATA/"images.npy").read_bytes()
    pd.testing.assert_frame_equal(d.manifest, old.manifest)
    assert d.card["params"]["generator_version"] == 1 and d.card["hashes"] == old.card["hashes"]


def test_version_2_is_the_default_and_differs(ds, tmp_path):
    assert gen.GENERATOR_VERSION == 2 and ds.card["params"]["generator_version"] == 2
    v1 = generate_dataset(tmp_path/"v1", n=280, size=32, seed=3, workers=1, progress=False, version=1, gallery=False)
    assert not np.array_equal(np.asarray(v1.images), np.asarray(ds.images))  # other streams, other images
    np.testing.assert_array_equal(v1.labels(14), ds.labels(14))  # same labels, bases and splits
    assert (v1.manifest.split == ds.manifest.split).all()
    with pytest.raises(ValueError, match="unknown generator version 3; valid: 1, 2"):
        generate_dataset(tmp_path/"x", n=120, size=32, workers=1, progress=False, version=3)
    assert not (tmp_path/"x").exists()


@pytest.mark.parametrize("version", [1, 2])
def test_every_stored_alteration_is_visible_and_inside_its_region(tmp_path, version):
    "Both crop paths of version 2 (fine pyramid: n >= 64 uses per photo; resized crops: fewer) and version 1."
    for n in (300, 1300):
        d = generate_dataset(tmp_path/f"v{version}_{n}", n=n, size=24, seed=5, workers=1, progress=False, gallery=False,
                             version=version)
        m = d.manifest
        assert (m.effect >= m.subclass.map(MIN_EFFECT)).all() and d.card["stats"]["weak"] == 0
        mk = gen._Maker(EmbeddedSource(), 24, 5, d.labels(14), assign_bases(n, 18, 5), version)
        assert mk.fine == (version == 2 and n >= gen.FINE_REUSE * 18)
        for i in range(0, n, 97):
            img, base, rec = mk.make(i)
            np.testing.assert_array_equal(img, d.images[i])
            poly = json.loads(m.polygon[i])
            assert is_valid_polygon(poly, 24, 24) and rec["seed"] == m.seed[i] == image_seed(5, i)
            from false_labels.data.alter import polygon_mask, effect
            mask = polygon_mask(poly, 24, 24)
            assert not ((img != base).any(-1) & (mask == 0)).any()
            assert effect(base, img, mask) >= MIN_EFFECT[m.subclass[i]]  # recomputed with the masked mean


def test_version_2_fine_crops_are_identical_for_any_number_of_workers(tmp_path):
    a = generate_dataset(tmp_path/"w1", n=1200, size=16, seed=2, workers=1, progress=False, gallery=False)
    b = generate_dataset(tmp_path/"w2", n=1200, size=16, seed=2, workers=2, progress=False, gallery=False)
    assert (tmp_path/"w1"/"images.npy").read_bytes() == (tmp_path/"w2"/"images.npy").read_bytes()
    assert a.card["hashes"] == b.card["hashes"]
    assert load_dataset(tmp_path/"w2").card["hashes"] == b.card["hashes"]  # the hash made while writing verifies


def test_sample_streams_and_rng():
    s = gen.SampleStreams(9)
    for i in (0, 5, 2**40):
        np.testing.assert_array_equal(s(i).random(6), gen.sample_rng(9, i).random(6))
    assert gen.sample_rng(9, 1, version=1).random() == np.random.default_rng(image_seed(9, 1)).random()
    assert gen.sample_rng(9, 1).random() != gen.sample_rng(9, 2).random()


@pytest.mark.parametrize("direct", ["off", "refused"])
def test_storage_without_direct_io_gives_the_same_bytes(tmp_path, monkeypatch, direct):
    want = generate_dataset(tmp_path/"ref", n=150, size=40, seed=4, workers=1, progress=False, gallery=False)
    if direct == "off": monkeypatch.setattr(gen, "_open_direct", lambda path: None)
    else:  # the handle opens but every direct write fails (a file system that only pretends): plain writes take over
        real = gen.os.pwrite
        monkeypatch.setattr(gen.os, "pwrite", lambda fd, *a: (_ for _ in ()).throw(OSError(22, "Invalid argument")))
    got = generate_dataset(tmp_path/"x", n=150, size=40, seed=4, workers=1, progress=False, gallery=False)
    assert (tmp_path/"x"/"images.npy").read_bytes() == (tmp_path/"ref"/"images.npy").read_bytes()
    assert got.card["hashes"] == want.card["hashes"]
    load_dataset(tmp_path/"x")  # verifies the hash against the bytes on disk


def test_gallery_has_four_panels(ds):
    g = cv2.imread(str(ds.path/"gallery.png"))[..., ::-1]
    tile, pad = 128, 4
    assert g.shape[1] == 130 + 4 * (tile + pad) + pad and g.shape[0] == 14 * (tile + pad) + pad + 18
    x = 130 + pad + 3 * (tile + pad)  # the difference column: black where nothing changed, bright where it did
    diff = g[18 + pad:18 + pad + tile, x:x + tile]
    assert (diff == 0).all(-1).mean() > 0.3 and diff.max() == 255
    e = gen.example_gallery(n=280, size=32, seed=3, tile=tile)
    np.testing.assert_array_equal(e, g)  # the same figure, without a dataset
    with pytest.raises(ValueError, match="generator version"): gen.example_gallery(version=0)


class _PilFolder(ImageSource):
    "The folder source as it decoded before it shared the import's `read_image`: PIL, converted to RGB (the reference)."
    kind = "folder"
    def __init__(self, src): self.inner = FolderSource(src); super().__init__(self.inner.names)
    def get(self, j):
        from PIL import Image
        try:
            with Image.open(self.inner.path/self.names[j]) as im:
                im.load(); return np.asarray(im.convert("RGB"))
        except Exception: return None
    def spec(self): return self.inner.spec()
    def describe(self): return self.inner.describe()


def _mixed_folder(folder):
    "Photos of every extension the folder source lists: colour and grey, 8-bit; and a truncated JPEG."
    paths = _photos(folder, n=8, size=(70, 90), seed=5)
    rng = np.random.default_rng(6)
    grey = cv2.GaussianBlur(rng.integers(0, 256, (64, 80), dtype=np.uint8), (5, 5), 0)
    for ext in (".png", ".jpg", ".bmp"): cv2.imwrite(str(folder/f"grey{ext}"), grey)
    cv2.imwrite(str(folder/"c.jpeg"), cv2.GaussianBlur(rng.integers(0, 256, (50, 66, 3), dtype=np.uint8), (3, 3), 0))
    data = paths[1].read_bytes()
    (folder/"cut.jpg").write_bytes(data[:len(data) // 2])
    return folder


def test_folder_source_gives_the_bytes_it_gave_before(tmp_path):
    "A seeded folder-source dataset is byte-identical to one decoded as before (PIL, RGB), with 1 or 2 workers."
    src = _mixed_folder(tmp_path/"src")
    kw = dict(n=200, size=32, seed=7, progress=False, gallery=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = generate_dataset(tmp_path/"want", source=_PilFolder(src), workers=1, **kw)
        got = generate_dataset(tmp_path/"got", source=src, workers=1, **kw)
        got2 = generate_dataset(tmp_path/"got2", source=src, workers=2, **kw)
    for f in ("images.npy", "manifest.csv"):
        assert (tmp_path/"want"/f).read_bytes() == (tmp_path/"got"/f).read_bytes() == (tmp_path/"got2"/f).read_bytes(), f
    assert got.card["stats"]["unreadable_files"] == want.card["stats"]["unreadable_files"] == ["cut.jpg"]

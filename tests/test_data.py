"Tests for false_labels.training.loaders: device choice, batched augmentation, loaders, noisy labels, image folders."
import warnings
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings, strategies as st

from false_labels.training.loaders import (BatchOptions, DeviceUnavailableError, ImageStore, LoaderOptions, NoisyDataLoaders, TensorDL,
                               as_dataset, dataloaders, gather_augment, pick_device)
from false_labels.data.dataset import Dataset
from toys import colour_toy

pytestmark = pytest.mark.usefixtures("one_thread")


def toy(n=200, size=16, seed=0, n_classes=3):
    "Images whose class (mod 3) is the brightest channel; classes c0, c1, ..."
    return colour_toy(n, size, seed, n_classes=n_classes, names=[f"c{i}" for i in range(n_classes)])


@pytest.fixture(scope="module")
def tds(): return toy()


@pytest.fixture(scope="module")
def gen_ds(tmp_path_factory):
    from false_labels.data.generate import generate_dataset
    return generate_dataset(tmp_path_factory.mktemp("gen")/"d", n=280, size=32, seed=0, workers=1, progress=False, gallery=False)


# --- devices
def test_pick_device():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="unknown device 'gpu0'"): pick_device("gpu0")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_fallback_and_strict():
    with pytest.warns(UserWarning, match="falling back to the CPU"): assert pick_device("cuda") == torch.device("cpu")
    with pytest.raises(DeviceUnavailableError, match="no such CUDA device"): pick_device("cuda", strict=True)
    with pytest.raises(DeviceUnavailableError): pick_device("cuda!")


# --- augmentation
def _ref_flipfirst(img, flip, dy, dx, mode):
    "NumPy reference: output (i, j) reads source (i + dy, (W-1-j if flip else j) + dx), padded the NumPy way."
    H, W = img.shape[:2]
    p = max(abs(dy), abs(dx), 1) + W
    npmode = {"reflect": "reflect", "replicate": "edge", "zeros": "constant"}[mode]
    pad = np.pad(img, ((p, p), (p, p), (0, 0)), mode=npmode)
    rows = np.arange(H) + dy + p
    cols = (W - 1 - np.arange(W) if flip else np.arange(W)) + dx + p
    return pad[rows][:, cols]


@settings(max_examples=40, deadline=None)
@given(h=st.integers(2, 9), w=st.integers(2, 9), data=st.data(), mode=st.sampled_from(["reflect", "replicate", "zeros"]))
def test_gather_augment_matches_numpy(h, w, data, mode):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    imgs = rng.integers(0, 256, (5, h, w, 3), dtype=np.uint8)
    B = data.draw(st.integers(1, 6))
    m = min(h, w) - 1
    idx, flip = rng.integers(0, 5, B), rng.random(B) < 0.5
    dy, dx = rng.integers(-m, m + 1, B), rng.integers(-m, m + 1, B)
    out = gather_augment(torch.from_numpy(imgs), torch.from_numpy(idx), torch.from_numpy(flip), torch.from_numpy(dy),
                         torch.from_numpy(dx), pad_mode=mode).numpy()
    for b in range(B): np.testing.assert_array_equal(out[b], _ref_flipfirst(imgs[idx[b]], flip[b], dy[b], dx[b], mode))


def test_gather_augment_identity_and_flip():
    imgs = torch.randint(0, 256, (3, 4, 5, 3), dtype=torch.uint8)
    idx, z = torch.tensor([2, 0]), torch.zeros(2, dtype=torch.long)
    assert torch.equal(gather_augment(imgs, idx), imgs[idx])
    assert torch.equal(gather_augment(imgs, idx, torch.tensor([False, False]), z, z), imgs[idx])
    assert torch.equal(gather_augment(imgs, idx, torch.tensor([True, True]), z, z), imgs[idx].flip(2))
    with pytest.raises(ValueError, match="unknown pad_mode 'wrap'"): gather_augment(imgs, idx, None, z, z, pad_mode="wrap")


# --- loaders
def test_shapes_dtypes_devices(tds):
    dls = dataloaders(tds, task="label", bs=32, device="cpu")
    assert isinstance(dls, NoisyDataLoaders) and isinstance(dls.test, TensorDL)
    x, y = dls.one_batch()
    assert x.shape == (32, 3, 16, 16) and x.dtype == torch.float32 and x.device.type == "cpu" and x.is_contiguous()
    assert y.dtype == torch.int64 and type(x) is torch.Tensor and type(y) is torch.Tensor
    n = {s: len(tds.split_idx(s)) for s in ("train", "valid", "test")}
    assert len(dls.train) == n["train"] // 32                     # drop_last on train
    assert sum(len(b[1]) for b in dls.valid) == n["valid"]       # not on valid/test
    assert sum(len(b[1]) for b in dls.test) == n["test"]
    assert dls.c == 3 and dls.vocab == ["c0", "c1", "c2"]
    assert abs(float(torch.cat([b[0] for b in dls.test]).mean())) < 0.3   # normalised with training statistics


def test_ids_travel_with_batches(tds):
    dls = dataloaders(tds, task="label", bs=32, device="cpu", with_ids=True)
    labels = torch.tensor(tds.labels("label"))
    seen = []
    for x, y, ids in dls.train:
        assert torch.equal(y, labels[ids]) and torch.equal(dls.train.batch_ids, ids)
        seen.append(ids)
    seen = torch.cat(seen)
    assert len(set(seen.tolist())) == len(seen) and set(seen.tolist()) <= set(tds.split_idx("train").tolist())
    for x, y, ids in dls.test:   # unshuffled, in split order
        assert torch.equal(y, labels[ids])
    assert torch.equal(torch.cat([b[2] for b in dls.test]), torch.as_tensor(tds.split_idx("test")))


def test_augmentation_is_label_preserving_geometry(tds):
    "Every augmented image is a flip/shift (within max_shift) of its own id's image; valid/test are untouched."
    dls = dataloaders(tds, task="label", bs=16, device="cpu", with_ids=True, normalize=None, pad_mode="zeros", max_shift=2)
    x, y, ids = next(iter(dls.train))
    u8 = (x * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    for k, i in enumerate(ids.tolist()):
        src = tds.images[i]
        cands = [_ref_flipfirst(src, f, dy, dx, "zeros") for f in (False, True) for dy in range(-2, 3) for dx in range(-2, 3)]
        assert any(np.array_equal(u8[k], c) for c in cands)
    xt, yt, it = next(iter(dls.test))
    np.testing.assert_array_equal((xt * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy(), tds.images[it.numpy()])


def test_epochs_differ_seeds_repeat(tds):
    a = dataloaders(tds, task="label", bs=32, device="cpu", with_ids=True, seed=3)
    b = dataloaders(tds, task="label", bs=32, device="cpu", with_ids=True, seed=3)
    e1a, e2a = [torch.cat([x for x, *_ in a.train]) for _ in range(2)]
    e1b = torch.cat([x for x, *_ in b.train])
    assert torch.equal(e1a, e1b) and not torch.equal(e1a, e2a)
    one = a.train.one_batch()[0]
    assert torch.equal(one, a.train.one_batch()[0])            # one_batch is fixed and does not advance the epoch
    assert a.train.epoch == 2


def test_streaming_equals_resident(tds):
    kw = dict(task="label", bs=16, device="cpu", with_ids=True, seed=1, ratio=0.2)
    res, stm = dataloaders(tds, resident=True, **kw), dataloaders(tds, resident=False, **kw)
    assert res.train.store.resident and not stm.train.store.resident
    stm.train.store.chunk_mb = 0                               # chunks of one batch: many chunk boundaries
    for dl_r, dl_s in ((res.train, stm.train), (res.test, stm.test)):
        for (xr, yr, ir), (xs, ys, is_) in zip(dl_r, dl_s, strict=True):
            assert torch.equal(xr, xs) and torch.equal(yr, ys) and torch.equal(ir, is_)


def test_resize_on_the_way(tds):
    for resident in (True, False):
        dls = dataloaders(tds, task="label", bs=8, device="cpu", size=8, resident=resident)
        assert dls.one_batch()[0].shape == (8, 3, 8, 8)
        assert dls.train.store.size == 8


# --- labels and noise
def test_only_train_labels_corrupted(tds):
    dls = dataloaders(tds, task="label", ratio=0.3, bs=32, device="cpu", seed=5)
    info, lab = dls.info, tds.labels("label")
    tr, va, te = (tds.split_idx(s) for s in ("train", "valid", "test"))
    assert info.n_corrupted == round(0.3 * len(tr)) and info.realised_ratio == pytest.approx(info.n_corrupted / len(tr))
    np.testing.assert_array_equal(info.ids, tr)
    np.testing.assert_array_equal(info.true, lab[tr])
    np.testing.assert_array_equal(info.corrupted, info.given != info.true)
    np.testing.assert_array_equal(dls.train.labels.numpy(), info.given)
    np.testing.assert_array_equal(dls.valid.labels.numpy(), lab[va])
    np.testing.assert_array_equal(dls.test.labels.numpy(), lab[te])
    assert (info.test_noisy != lab[te]).sum() == round(0.3 * len(te))   # the noisy copy for test_acc_noisy
    assert info.label_mapping() == {"0": "c0", "1": "c1", "2": "c2"}


def test_nested_and_reproducible(tds):
    lo = dataloaders(tds, task="label", ratio=0.1, device="cpu", seed=2).info
    hi = dataloaders(tds, task="label", ratio=0.3, device="cpu", seed=2).info
    hi2 = dataloaders(tds, task="label", ratio=0.3, device="cpu", seed=2).info
    other = dataloaders(tds, task="label", ratio=0.3, device="cpu", seed=9).info
    assert np.array_equal(hi.given, hi2.given)
    assert (lo.corrupted <= hi.corrupted).all() and np.array_equal(lo.given[lo.corrupted], hi.given[lo.corrupted])
    assert not np.array_equal(hi.corrupted, other.corrupted)


def test_corrupt_valid(tds):
    dls = dataloaders(tds, task="label", ratio=0.4, device="cpu", corrupt_valid=True)
    va = tds.split_idx("valid")
    assert (dls.valid.labels.numpy() != tds.labels("label")[va]).sum() == round(0.4 * len(va))
    np.testing.assert_array_equal(dls.test.labels.numpy(), tds.labels("label")[tds.split_idx("test")])


def test_generated_dataset_tasks_and_hier_noise(gen_ds):
    for task in (4, 14, "14"):
        dls = dataloaders(gen_ds, task=task, bs=32, device="cpu", ratio=0.2)
        assert dls.c == int(task) and dls.info.n_corrupted == round(0.2 * len(gen_ds.split_idx("train")))
    info = dataloaders(gen_ds.path, task=14, noise="hier-within", ratio=0.2, device="cpu").info
    parents = np.full(14, -1); parents[gen_ds.labels(14)] = gen_ds.labels(4)
    c = info.corrupted
    assert c.any() and (parents[info.given[c]] == parents[info.true[c]]).all()   # flips stay within the family


def test_bad_input(tds, tmp_path):
    with pytest.raises(ValueError, match="unknown task 14 for this dataset; valid: label"): dataloaders(tds, task=14, device="cpu")
    with pytest.raises(ValueError, match="1.5"): dataloaders(tds, task="label", ratio=1.5, device="cpu")
    with pytest.raises(ValueError, match="does not exist"): dataloaders(tmp_path/"nope", device="cpu")
    with pytest.raises(ValueError, match="not a false_labels dataset"): dataloaders(tmp_path, device="cpu")
    with pytest.raises(ValueError, match="unknown noise kind 'gaussian'"): dataloaders(tds, task="label", noise="gaussian", ratio=0.1, device="cpu")
    with pytest.raises(ValueError, match="batch size 0"): dataloaders(tds, task="label", bs=0, device="cpu")
    no_test = Dataset.from_arrays(tds.images[:20], tds.labels("label")[:20], ["a", "b", "c"], splits=["train"] * 15 + ["valid"] * 5)
    with pytest.raises(ValueError, match="no 'test' samples"): dataloaders(no_test, task="label", device="cpu")


# --- fastai integration
def test_show_batch_and_decode(tds):
    import matplotlib.pyplot as plt
    dls = dataloaders(tds, task="label", ratio=0.5, bs=16, device="cpu")
    pairs = dls.show_batch(show=False, max_n=4)
    assert len(pairs) == 4 and pairs[0][0].shape == (3, 16, 16) and pairs[0][1] in dls.vocab
    assert 0 <= float(pairs[0][0].min()) and float(pairs[0][0].max()) <= 1
    axs = dls.show_batch(max_n=16)
    titles = [ax.get_title() for ax in axs]
    assert any("true:" in t for t in titles)                    # corrupted labels are annotated
    b = dls.valid.one_batch()
    axs = dls.valid.show_results(b, torch.zeros(len(b[1]), dtype=torch.long), max_n=4)
    y = dls.valid.decode(b)[1]
    assert [ax.get_title() for ax in list(axs)[:4]] == [f"{dls.vocab[int(y[i])]}/{dls.vocab[0]}" for i in range(4)]
    plt.close("all")


def test_new_keeps_state(tds):
    dls = dataloaders(tds, task="label", bs=16, device="cpu", ratio=0.2)
    ev = dls.train.new(shuffle=False, augment=False, drop_last=False)
    assert ev.n == dls.train.n and torch.equal(ev.labels, dls.train.labels) and ev.tfms_split == 1
    x, y = ev.one_batch()
    assert torch.equal(y, dls.train.labels[:16])
    dls.to("cpu")
    assert torch.device(dls.device) == torch.device("cpu") and dls.test.device == torch.device("cpu")


# --- image folders
def _write_folder(root, splits=(("train", 8), ("test", 3)), classes=("cat", "dog")):
    import cv2
    for split, n in splits:
        for k, c in enumerate(classes):
            (root/split/c).mkdir(parents=True)
            for i in range(n):
                im = np.zeros((20, 26, 3), np.uint8); im[..., 2 * k] = 100 + i
                cv2.imwrite(str(root/split/c/f"{i}.jpg" if i % 2 else root/split/c/f"{i}.png"), im)


def test_image_folder(tmp_path):
    root = tmp_path/"f"
    _write_folder(root)
    ds = as_dataset(root, size=12)          # one reader of image folders: the import's (`data.formats.scan_image_folder`)
    assert ds.images.shape == (22, 12, 12, 3) and ds.classes("label") == ["cat", "dog"]
    assert set(ds.manifest.split) == {"train", "valid", "test"}
    files = [str(f) for f in ds.manifest.file]
    assert (ds.manifest.split[[f.startswith("test/") for f in files]] == "test").all()
    assert ds.images[files.index("train/cat/0.png"), 5, 5, 2] == 100   # BGR on disk -> RGB in memory
    dls = dataloaders(root, task="folder", bs=4, device="cpu", size=12)
    assert dls.one_batch()[0].shape == (4, 3, 12, 12)


def test_image_folder_with_given_labels_csv(tmp_path):
    root = tmp_path/"f"
    _write_folder(root, splits=(("train", 6), ("valid", 2), ("test", 2)))
    files = sorted(p.relative_to(root).as_posix() for p in (root/"train").rglob("*.*"))
    given = ["dog" if f == "train/cat/3.jpg" else f.split("/")[1] for f in files]
    pd.DataFrame(dict(path=files, label=given)).to_csv(root/"given.csv", index=False)
    dls = dataloaders(root, task="label", device="cpu", size=8, labels_csv=root/"given.csv")
    assert dls.info.n_corrupted == 1
    bad = tmp_path/"bad.csv"
    pd.DataFrame(dict(path=files[:3], label=given[:3])).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="missing"): as_dataset(root, size=8, labels_csv=bad)


def test_image_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"): as_dataset(tmp_path/"nope")
    (tmp_path/"e"/"train"/"a").mkdir(parents=True)
    with pytest.raises(ValueError, match="no images found"): as_dataset(tmp_path/"e")


def test_loader_options_by_value_or_keyword():
    "`TensorDL` and `dataloaders` take their batch settings as one value (`BatchOptions`, `LoaderOptions`) or as the old keywords."
    tds = colour_toy(n=120)
    a = dataloaders(tds, task="label", bs=16, device="cpu", with_ids=True, normalize=None, pad_mode="zeros", max_shift=2)
    b = dataloaders(tds, task="label", bs=16, device="cpu", opts=LoaderOptions(with_ids=True, normalize=None, pad_mode="zeros", max_shift=2))
    for x, y in zip(a.train.one_batch(), b.train.one_batch()): assert torch.equal(x, y)
    assert (a.train.pad_mode, a.train.max_shift, a.train.with_ids) == ("zeros", 2, True)
    store = ImageStore(np.zeros((4, 8, 8, 3), np.uint8), "cpu")
    dl = TensorDL(store, np.arange(4), np.arange(4) % 2, bs=2, opts=BatchOptions(with_ids=True), pad_mode="replicate")
    assert (dl.with_ids, dl.pad_mode, dl.new(bs=4).pad_mode) == (True, "replicate", "replicate")
    with pytest.raises(TypeError): TensorDL(store, np.arange(4), np.arange(4) % 2, colour=1)


def test_store_validates_and_reports():
    with pytest.raises(ValueError, match="uint8 array"): ImageStore(np.zeros((2, 4, 4, 3), np.float32))
    st_ = ImageStore(np.zeros((4, 4, 6, 3), np.uint8), "cpu", size=4)
    assert st_.images.shape == (4, 4, 4, 3) and "resident" in repr(st_)
    with pytest.raises(ValueError, match="pass `size`"): ImageStore(np.zeros((2, 4, 6, 3), np.uint8))


def test_streams_when_the_device_is_too_small(tds, monkeypatch):
    import false_labels.training.store as store
    monkeypatch.setattr(store, "fits_on_device", lambda *a, **k: False)
    dls = dataloaders(tds, task="label", bs=32, device="cpu")
    assert not dls.train.store.resident and "streamed" in repr(dls.train.store)
    assert sum(len(b[1]) for b in dls.test) == len(tds.split_idx("test"))


def test_one_gather_per_batch(tds, monkeypatch):
    "Augmentation is batched: one gather call per batch, whatever the batch size."
    import false_labels.training.loaders as data
    calls = []
    real = data.gather_augment
    monkeypatch.setattr(data, "gather_augment", lambda *a, **k: calls.append(len(a[1])) or real(*a, **k))
    dls = dataloaders(tds, task="label", bs=32, device="cpu")
    list(dls.train)
    assert calls == [32] * len(dls.train)


# --- one class against the rest
def test_binary_task_is_one_class_against_the_rest(tds):
    from false_labels.training.loaders import with_task
    dls = dataloaders(tds, task="binary:c1", ratio=0.2, seed=0, bs=32, device="cpu")
    truth = (tds.labels("label") == 1).astype(np.int64)
    assert dls.info.classes == ["not_c1", "c1"] and dls.c == 2
    np.testing.assert_array_equal(dls.info.true, truth[dls.info.ids])
    assert dls.info.corrupted.sum() == round(0.2 * len(dls.info.ids))             # exact, like any task
    bad = dls.info.corrupted
    assert (dls.info.given[bad] == 1 - dls.info.true[bad]).all()                    # two classes: a corruption is a flip
    np.testing.assert_array_equal(dls.test.labels.cpu().numpy(), truth[tds.split_idx("test")])   # the test set stays clean
    with pytest.raises(ValueError, match="unknown class 'c9' in task 'binary:c9'; valid: c0, c1, c2"):
        dataloaders(tds, task="binary:c9", device="cpu")
    assert with_task(tds, "label") is tds and "binary:c1" not in tds.card["tasks"]   # a view: the dataset is untouched

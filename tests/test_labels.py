"""One path for a run's training labels: `noise.spec.NoiseSpec.apply` and `data.labels`, used by the loaders and detection.

tests/fixtures/labels_v1.npz holds the labels the code gave before they shared this path (the loaders' train, valid and
test labels, and detection's corrupted labels and truth), for class-level and instance-dependent kinds on several seeds:
the shared path must give them bit for bit."""
import tempfile
from pathlib import Path
import numpy as np
import pytest
from false_labels.data.generate import generate_dataset
from false_labels.data.labels import TrainLabels, corrupted_train_labels, run_labels, train_labels
from false_labels.noise.spec import NoiseSpec, noise_spec
from false_labels.study.toys import colour_toy
from false_labels.training.loaders import dataloaders

FIXTURE = Path(__file__).parent/"fixtures"/"labels_v1.npz"
T4 = np.array([[.7, .3, 0, 0], [0, .6, .4, 0], [0, 0, .8, .2], [.5, 0, 0, .5]])
CASES = []
for seed in (0, 3, 11):
    for kind, kw in (("sym", {}), ("pair", {}), ("pair", dict(mapping={0: 2, 1: 3})), ("matrix", dict(T=T4)), ("idn", {}), ("idn", dict(side=4, norm_std=0.2))):
        for r in ((0.1, 0.2) if "mapping" in kw else (0.1, 0.3)):
            CASES.append(("toy", "label", kind, r, seed, kw))
    for kind in ("hier-within", "hier-across", "sym", "idn"):
        CASES.append(("gen", 14, kind, 0.2, seed, {}))
    CASES.append(("gen", 4, "pair", 0.2, seed, {}))
NAMES = [f"{i}_{c[0]}_{c[1]}_{c[2]}_{c[3]}_{c[4]}" for i, c in enumerate(CASES)]

@pytest.fixture(scope="module")
def datasets():
    gen = generate_dataset(Path(tempfile.mkdtemp())/"gen", n=280, size=16, seed=0, workers=1, progress=False, gallery=False)
    return dict(toy=colour_toy(n=240, n_classes=4, names=["r", "g", "b", "k"]), gen=gen)

@pytest.fixture(scope="module")
def before(): return dict(np.load(FIXTURE, allow_pickle=True))

@pytest.mark.parametrize("i", range(len(CASES)), ids=NAMES)
def test_labels_bit_identical_to_before(datasets, before, i):
    key, task, kind, r, seed, kw = CASES[i]
    ds, name = datasets[key], NAMES[i]
    info = dataloaders(ds, task=task, noise=kind, ratio=r, seed=seed, bs=32, device="cpu", augment=False, corrupt_valid=True, **kw).info
    np.testing.assert_array_equal(info.given, before[name + "/given"])
    np.testing.assert_array_equal(info.valid_given, before[name + "/valid"])
    np.testing.assert_array_equal(info.test_noisy, before[name + "/test"])
    spec = NoiseSpec(kind, r, seed, **kw)       # the typed form gives the same loaders
    info2 = dataloaders(ds, task=task, noise=spec, bs=32, device="cpu", augment=False, corrupt_valid=True).info
    np.testing.assert_array_equal(info2.given, info.given); np.testing.assert_array_equal(info2.test_noisy, info.test_noisy)
    given = corrupted_train_labels(ds, spec, task)
    np.testing.assert_array_equal(given, info.given)      # detection trains on the labels a run trains on: idn too
    if kind == "idn": return
    np.testing.assert_array_equal(given, before[name + "/detect"])
    lab = train_labels(ds, task, spec)
    np.testing.assert_array_equal(lab.truth, before[name + "/detect_truth"])
    assert lab.source["given"] == f"{kind} noise, ratio {r:g}, seed {seed}"

def test_run_labels_sources(datasets):
    ds = datasets["toy"]
    lab = run_labels(ds, ds.split_idx("train"), "label", NoiseSpec("idn", None, 2))
    assert isinstance(lab, TrainLabels) and lab.source == dict(given="idn noise, ratio 0.1, seed 2", truth="dataset labels", noise="idn", ratio=0.1)
    assert (lab.given != lab.truth).sum() == round(0.1 * len(lab.given))

def test_noise_spec_refuses_unknown_fields():
    with pytest.raises(TypeError, match="unknown noise parameter"): noise_spec("sym", colour=1)
    with pytest.raises(TypeError, match="unknown noise parameter"):
        dataloaders(colour_toy(n=60), task="label", noise="sym", ratio=0.1, device="cpu", colour=1)

def test_detect_with_instance_dependent_noise(datasets, tmp_path):
    "`detect --noise idn` corrupts the training labels as `train --noise idn` does (one path), and scores against the truth."
    from false_labels import cli
    ds = datasets["gen"]
    out = tmp_path/"det"
    rc = cli.main(["detect", "--data", str(ds.path), "--allow-no-learning", "--task", "4", "--noise", "idn", "--ratio", "0.2",
                   "--method", "cl", "--folds", "2", "--arch", "small_cnn", "--epochs", "1", "--bs", "64", "--device", "cpu",
                   "--quiet", "--out", str(out)])
    assert rc in (0, None)
    z = np.load(out/"detection_stats.npz")
    want = corrupted_train_labels(ds, NoiseSpec("idn", 0.2, 0), 4)
    np.testing.assert_array_equal(z["given"], want)
    assert (z["given"] != z["true"]).sum() == round(0.2 * len(want))
    params = __import__("json").loads((out/"params.json").read_text())
    assert params["noise"] == "idn"

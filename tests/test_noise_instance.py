import numpy as np, pytest
from false_labels.noise.instance import (part_dependent_transitions, confusion_transitions, corrupt_instance,
                                         flip_propensity)

@pytest.fixture
def toy():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 2000)
    x = rng.normal(size=(2000, 3, 4, 4))
    return x, y

def test_part_dependent_rows(toy):
    x, y = toy
    T = part_dependent_transitions(x, y, 5, 0.3, seed=1)
    assert T.shape == (2000, 5) and np.allclose(T.sum(1), 1) and (T >= 0).all()
    assert abs(flip_propensity(T, y).mean() - 0.3) < 0.02
    assert np.array_equal(T, part_dependent_transitions(x, y, 5, 0.3, seed=1))

@pytest.mark.parametrize("ratio", [0.0, 0.013, 0.2, 0.4])
def test_exact_count_and_never_true(toy, ratio):
    x, y = toy
    T = part_dependent_transitions(x, y, 5, 0.4, seed=2)
    noisy, mask = corrupt_instance(y, ratio, T, seed=3)
    assert mask.sum() == round(ratio * len(y))
    assert np.array_equal(noisy != y, mask)

def test_nested_and_stable_labels(toy):
    x, y = toy
    T = part_dependent_transitions(x, y, 5, 0.4, seed=2)
    prev_noisy, prev_mask = corrupt_instance(y, 0.05, T, seed=7)
    for r in (0.1, 0.2, 0.3, 0.45):
        noisy, mask = corrupt_instance(y, r, T, seed=7)
        assert (prev_mask <= mask).all()
        assert np.array_equal(noisy[prev_mask], prev_noisy[prev_mask])
        prev_noisy, prev_mask = noisy, mask

def test_concentrates_on_high_propensity():
    y = np.zeros(4000, int)
    w = np.where(np.arange(4000) < 1000, 0.8, 0.1)        # a quarter of the samples is 8x as likely to flip
    T = np.stack([1 - w, w / 2, w / 2], 1)
    _, mask = corrupt_instance(y, 0.1, T, seed=0)
    share_high = mask[:1000].mean() / mask[1000:].mean()
    assert share_high > 5

def test_labels_follow_rows():
    y = np.array([0] * 500 + [1] * 500)
    T = np.zeros((1000, 3)); T[:500] = [0.5, 0.1, 0.4]; T[500:] = [0.5, 0.5, 0.0]
    noisy, mask = corrupt_instance(y, 0.4, T, seed=1)
    assert (noisy[500:][mask[500:]] == 0).all()                     # class 1 only flips to 0
    f0 = noisy[:500][mask[:500]]
    assert set(f0) <= {1, 2} and 0.65 < (f0 == 2).mean() < 0.95     # 0.4 / 0.5 of class-0 flips go to 2

def test_confusion_transitions():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(4), 300); y = rng.integers(0, 4, 300)
    T = confusion_transitions(p, y)
    assert np.allclose(T, p)
    noisy, mask = corrupt_instance(y, 0.25, T, seed=2)
    assert mask.sum() == 75 and (noisy[mask] != y[mask]).all()

def test_bad_inputs():
    y = np.array([0, 1, 2]); T = np.full((3, 3), 1 / 3)
    with pytest.raises(ValueError, match="outside"): corrupt_instance(y, 1.0, T)
    with pytest.raises(ValueError, match="N=3"): corrupt_instance(y, 0.3, T[:2])
    with pytest.raises(ValueError, match="non-negative"): corrupt_instance(y, 0.3, -T)
    with pytest.raises(ValueError, match="integers"): corrupt_instance(y.astype(float), 0.3, T)
    with pytest.raises(ValueError, match="only 0 of 3"): corrupt_instance(y, 0.5, np.eye(3))
    with pytest.raises(ValueError, match="one row per label"): part_dependent_transitions(np.ones((2, 4)), y, 3, 0.2)
    with pytest.raises(ValueError, match="at least 2"): part_dependent_transitions(np.ones((3, 4)), [0, 0, 0], 1, 0.2)
    with pytest.raises(ValueError, match="sums to 0"): confusion_transitions(np.zeros((3, 3)), y)
    with pytest.raises(ValueError, match="temperature"): confusion_transitions(T, y, temperature=0)


# --- through the loaders (data.dataloaders), the path of train_run and the CLI
from false_labels.training.loaders import dataloaders  # noqa: E402
from false_labels.study.toys import colour_toy  # noqa: E402


@pytest.fixture(scope="module")
def ctoy(): return colour_toy(n=160)


def _info(ds, **kw): return dataloaders(ds, task="label", bs=32, device="cpu", augment=False, **kw).info


def test_loaders_idn_exact_nested_reproducible(ctoy):
    infos = {r: _info(ctoy, noise="idn", ratio=r, seed=2) for r in (0.2, 0.4)}
    n = len(infos[0.2].ids)
    for r, info in infos.items():
        assert info.n_corrupted == round(r * n) and (info.given != info.true).sum() == info.n_corrupted
    lo, hi = infos[0.2], infos[0.4]
    assert (lo.corrupted <= hi.corrupted).all() and (lo.given[lo.corrupted] == hi.given[lo.corrupted]).all()
    again = _info(ctoy, noise="idn", ratio=0.2, seed=2)
    assert (again.given == lo.given).all()
    other = _info(ctoy, noise="idn", ratio=0.2, seed=3)
    assert not (other.given == lo.given).all()
    assert (lo.test_noisy != ctoy.labels("label")[ctoy.split_idx("test")]).sum() == round(0.2 * len(ctoy.split_idx("test")))


def test_loaders_confusion_follows_probs(ctoy):
    N, C = len(ctoy.manifest), 3
    y = ctoy.labels("label")
    probs = np.full((N, C), 0.0); probs[np.arange(N), y] = 0.5; probs[np.arange(N), (y + 2) % C] = 0.5   # flips go to y+2
    info = _info(ctoy, noise="confusion", ratio=0.3, probs=probs)
    assert info.n_corrupted == round(0.3 * len(info.ids))
    assert (info.given[info.corrupted] == (info.true[info.corrupted] + 2) % C).all()
    with pytest.raises(ValueError, match="needs probs"): _info(ctoy, noise="confusion", ratio=0.3)
    with pytest.raises(ValueError, match="one row per sample"): _info(ctoy, noise="confusion", ratio=0.3, probs=probs[:10])

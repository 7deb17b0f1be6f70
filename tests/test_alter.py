"Behaviour and properties of false_labels.data.alter: regions, the 14 alterations, effect and visibility."
import cv2
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from false_labels.data.alter import (CLASSES, SUBCLASSES, PARENT, MIN_EFFECT, CHANNEL_ORDERS, add_blobs, add_offset, alter,
                                apply_alteration, effect, gaussian_blur, hue_shift, is_valid_polygon, is_visible,
                                permute_channels, polygon_box, polygon_mask, random_polygon, inscribed_polygon, pasted_effect,
                                difference_image)


def _photo(size=64, seed=0):
    "A colourful, textured test image: smooth colour gradients plus noise and a few shapes."
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    img = np.stack([128 + 100 * np.sin(6 * x + 1), 128 + 100 * np.cos(5 * y), 128 + 90 * np.sin(4 * (x + y))], -1)
    img = np.clip(img + rng.normal(0, 20, img.shape), 0, 255).astype(np.uint8)
    for _ in range(6):
        c = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.circle(img, tuple(int(v) for v in rng.integers(0, size, 2)), int(rng.integers(2, size // 6 + 3)), c, -1)
    return img


def _area(poly):
    p = np.asarray(poly, float)
    return 0.5 * abs(np.dot(p[:, 0], np.roll(p[:, 1], -1)) - np.dot(np.roll(p[:, 0], -1), p[:, 1]))


def _angles(poly):
    p = np.asarray(poly, float)
    prv, nxt = np.roll(p, 1, 0) - p, np.roll(p, -1, 0) - p
    cos = (prv * nxt).sum(1) / (np.linalg.norm(prv, axis=1) * np.linalg.norm(nxt, axis=1))
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def test_taxonomy():
    assert CLASSES == ('blob', 'blur', 'channel', 'offset')
    assert len(SUBCLASSES) == 14 and len(set(SUBCLASSES)) == 14 and PARENT.shape == (14,)
    assert [CLASSES[p] for p in PARENT] == [s.split('_')[0] for s in SUBCLASSES]
    assert sorted(CHANNEL_ORDERS + ('rgb',)) == sorted(''.join(p) for p in __import__('itertools').permutations('rgb'))
    assert set(MIN_EFFECT) == set(SUBCLASSES)


@settings(max_examples=60, deadline=None)
@given(h=st.integers(16, 400), w=st.integers(16, 400), seed=st.integers(0, 2**32 - 1))
def test_random_polygon_follows_the_rules(h, w, seed):
    poly = random_polygon(h, w, np.random.default_rng(seed))
    assert poly.shape == (4, 2) and poly.dtype == np.int32
    assert is_valid_polygon(poly, h, w)
    assert (poly[:, 0] >= 0).all() and (poly[:, 0] < w).all() and (poly[:, 1] >= 0).all() and (poly[:, 1] < h).all()
    d = np.linalg.norm(poly[:, None].astype(float) - poly[None].astype(float), axis=-1)
    assert d[~np.eye(4, dtype=bool)].min() >= 0.1 * min(h, w)
    assert 0.1 * h * w <= _area(poly) <= 0.5 * h * w
    ang = _angles(poly)
    assert (ang < 140).all() and abs(ang.sum() - 360) < 1e-6  # convex: interior angles sum to 360


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), lo=st.floats(0.05, 0.3), span=st.floats(0.05, 0.3))
def test_random_polygon_area_bounds(seed, lo, span):
    poly = random_polygon(64, 96, np.random.default_rng(seed), min_area=lo, max_area=lo + span)
    assert lo * 64 * 96 <= _area(poly) <= (lo + span) * 64 * 96


def test_is_valid_polygon_rejects():
    ok = [[20, 20], [70, 22], [65, 75], [22, 70]]  # 24 % of the image, angles 85-99 degrees
    assert is_valid_polygon(ok, 100, 100) and is_valid_polygon(ok[::-1], 100, 100)  # either orientation
    assert not is_valid_polygon([[20, 20], [70, 22], [40, 40], [22, 70]], 100, 100)  # reflex vertex: not convex
    assert not is_valid_polygon([[20, 20], [45, 20], [70, 20], [40, 75]], 100, 100)  # a 180 degree vertex
    assert not is_valid_polygon([[20, 20], [60, 20], [80, 30], [22, 75]], 100, 100)  # an angle of 153 degrees
    assert not is_valid_polygon([[20, 20], [24, 20], [65, 75], [22, 70]], 100, 100)  # two vertices 4 px apart
    assert not is_valid_polygon([[0, 0], [99, 0], [99, 99], [0, 99]], 100, 100)  # 98 % of the image: too large
    assert not is_valid_polygon([[40, 40], [50, 41], [49, 50], [41, 49]], 100, 100)  # 1 % of the image: too small
    assert not is_valid_polygon([[20, 20], [120, 22], [65, 75], [22, 70]], 100, 100)  # outside the image
    assert not is_valid_polygon([[20, 20], [70, 22], [65, 75]], 100, 100)  # a triangle


def test_polygon_mask_and_box():
    poly = random_polygon(50, 70, np.random.default_rng(3))
    m = polygon_mask(poly, 50, 70)
    assert m.dtype == np.uint8 and set(np.unique(m)) == {0, 1}
    assert polygon_box(poly) == cv2.boundingRect(m)
    assert all(m[y, x] for x, y in poly)


@settings(max_examples=60, deadline=None)
@given(sub=st.sampled_from(SUBCLASSES), size=st.sampled_from([32, 48, 64, 100]), seed=st.integers(0, 2**32 - 1))
def test_alterations_change_only_inside_the_region(sub, size, seed):
    img = _photo(size, seed % 7)
    before = img.copy()
    out, poly, e = alter(img, sub, np.random.default_rng(seed))
    np.testing.assert_array_equal(img, before)  # the input is not modified
    assert out.shape == img.shape and out.dtype == np.uint8
    inside = polygon_mask(poly, size, size).astype(bool)
    changed = (out != img).any(-1)
    assert not (changed & ~inside).any()
    assert changed.any()
    assert e == pytest.approx(np.abs(out.astype(int) - img.astype(int))[inside].mean(), abs=1e-6)


@pytest.mark.parametrize("sub", SUBCLASSES)
@pytest.mark.parametrize("size", [32, 128])
def test_alterations_are_visible_on_a_photo(sub, size):
    img = _photo(size, 1)
    for seed in range(5):
        out, poly, e = alter(img, sub, np.random.default_rng(seed))
        assert is_visible(sub, e), (sub, size, seed, e)


def test_blur_visible_at_32_and_512():
    for size in (32, 512):
        img = _photo(size, 2)
        out, poly, e = alter(img, 'blur_gaussian', np.random.default_rng(0))
        assert is_visible('blur_gaussian', e), (size, e)
        inside = polygon_mask(poly, size, size).astype(bool)
        # blurring lowers local contrast inside the region
        lap = lambda im: np.abs(cv2.Laplacian(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY), cv2.CV_32F))[inside].mean()
        assert lap(out) < 0.8 * lap(img)


def test_invisible_alterations_are_reported():
    grey = np.repeat(_photo(64, 3).mean(-1, keepdims=True).astype(np.uint8), 3, -1)
    for order in CHANNEL_ORDERS:
        out, poly, e = alter(grey, f'channel_{order}', np.random.default_rng(0))
        assert e == 0 and not is_visible(f'channel_{order}', e)
    flat = np.full((64, 64, 3), 120, np.uint8)
    assert not is_visible('blur_gaussian', alter(flat, 'blur_gaussian', np.random.default_rng(0))[2])


def test_alter_redraws_the_region_until_visible():
    # left half saturated red (offset_red +x is clipped there), right half dark: only regions reaching right can show it
    img = np.zeros((64, 64, 3), np.uint8); img[:, :40, 0] = 255
    one = [alter(img, 'offset_red', np.random.default_rng(s), tries=1)[2] for s in range(30)]
    four = [alter(img, 'offset_red', np.random.default_rng(s), tries=4)[2] for s in range(30)]
    assert np.mean([is_visible('offset_red', e) for e in four]) >= np.mean([is_visible('offset_red', e) for e in one])
    assert all(f >= o for f, o in zip(four, one))  # the first try is the same; the best of four is kept


def test_channel_permutation_values():
    img, m = _photo(40, 4), polygon_mask(random_polygon(40, 40, np.random.default_rng(1)), 40, 40).astype(bool)
    for order in CHANNEL_ORDERS:
        out = permute_channels(img, m.astype(np.uint8), order)
        idx = ['rgb'.index(c) for c in order]
        np.testing.assert_array_equal(out[m], img[m][:, idx])
        np.testing.assert_array_equal(out[~m], img[~m])


def test_offset_values():
    img, m = _photo(40, 5), polygon_mask(random_polygon(40, 40, np.random.default_rng(2)), 40, 40)
    b = m.astype(bool)
    out = add_offset(img, m, 'green', -70)
    exp = img.astype(int); exp[..., 1] -= 70
    np.testing.assert_array_equal(out[b], np.clip(exp, 0, 255)[b])
    out = add_offset(img, m, 'all', 60)
    np.testing.assert_array_equal(out[b], np.clip(img.astype(int) + 60, 0, 255)[b])


@pytest.mark.parametrize("color,ch", [('red', 0), ('green', 1), ('blue', 2)])
def test_blob_colours(color, ch):
    img, m = _photo(64, 6), polygon_mask(random_polygon(64, 64, np.random.default_rng(4)), 64, 64)
    out = add_blobs(img, m, color, np.random.default_rng(0))
    changed = (out != img).any(-1)
    assert changed.sum() > 0.1 * m.sum()
    px = out[changed]
    others = [c for c in range(3) if c != ch]
    assert (px[:, others] == 0).all() and (px[:, ch] >= 100).all()


def test_blur_matches_a_full_image_blur_inside_the_region():
    img, m = _photo(64, 7), polygon_mask(random_polygon(64, 64, np.random.default_rng(5)), 64, 64)
    out = gaussian_blur(img, m, 2.0)
    k = cv2.getGaussianKernel(2 * 6 + 1, 2.0)
    full = cv2.sepFilter2D(img, -1, k, k, borderType=cv2.BORDER_REFLECT_101)
    np.testing.assert_array_equal(out[m.astype(bool)], full[m.astype(bool)])


def test_hue_shift_keeps_grey_and_stays_inside():
    img, m = _photo(48, 8), polygon_mask(random_polygon(48, 48, np.random.default_rng(6)), 48, 48)
    out = hue_shift(img, m, 120)
    assert not ((out != img).any(-1) & ~m.astype(bool)).any()
    grey = np.full((48, 48, 3), 90, np.uint8)
    np.testing.assert_array_equal(hue_shift(grey, m, 120), grey)


def test_reproducible_and_no_global_state():
    img = _photo(64, 9)
    np.random.seed(1); a = alter(img, 'blob_multi', np.random.default_rng(42))
    state = np.random.get_state()
    np.random.seed(2); b = alter(img, 'blob_multi', np.random.default_rng(42))
    np.testing.assert_array_equal(a[0], b[0]); np.testing.assert_array_equal(a[1], b[1]); assert a[2] == b[2]
    np.random.seed(1); alter(img, 'blur_gaussian', np.random.default_rng(0))
    assert all(np.array_equal(x, y) for x, y in zip(np.random.get_state(), state))  # global state untouched
    c = alter(img, 'blob_multi', np.random.default_rng(43))
    assert not np.array_equal(a[0], c[0])


def test_effect_is_mean_absolute_change():
    a = np.zeros((10, 10, 3), np.uint8); b = a.copy(); b[2:5, 2:5, 0] = 90
    m = np.zeros((10, 10), np.uint8); m[2:5, 2:8] = 1
    assert effect(a, b, m) == pytest.approx(90 * 9 / 18 / 3)
    assert effect(a, a, m) == 0


def test_bad_input():
    img = _photo(32)
    with pytest.raises(ValueError, match="unknown subclass 'blur_box'; valid: blob_red"): alter(img, 'blur_box', np.random.default_rng())
    with pytest.raises(ValueError, match="uint8"): alter(img.astype(np.float32), 'blob_red', np.random.default_rng())
    with pytest.raises(ValueError, match=r"\(32, 32\)"): alter(img[..., 0], 'blob_red', np.random.default_rng())
    m = polygon_mask(random_polygon(32, 32, np.random.default_rng()), 32, 32)
    with pytest.raises(ValueError, match="'purple'"): add_blobs(img, m, 'purple', np.random.default_rng())
    with pytest.raises(ValueError, match="'rgb'"): permute_channels(img, m, 'rgb')
    with pytest.raises(ValueError, match="'alpha'"): add_offset(img, m, 'alpha', 10)
    with pytest.raises(ValueError, match="4x4"): random_polygon(4, 4, np.random.default_rng())
    with pytest.raises(ValueError, match="loosen"): random_polygon(64, 64, np.random.default_rng(), min_area=0.9, max_area=0.95)


def test_random_polygon_is_the_first_valid_candidate():
    "The inlined fast path picks exactly what `_convex_order` + `_shape_ok` pick, draw for draw (datasets unchanged)."
    from false_labels.data.alter import _convex_order, _shape_ok
    for s in range(300):
        h, w = [(128, 128), (32, 32), (64, 48), (200, 311)][s % 4]
        kw = {} if s % 3 else dict(min_area=0.3, max_area=0.4, max_angle=120.)
        got = random_polygon(h, w, np.random.default_rng(s), **kw)
        rules = dict(min_area=0.1, max_area=0.5, min_dist=0.1, max_angle=140.) | kw
        r, want = np.random.default_rng(s), None
        while want is None:
            for c in r.random((32, 8)).tolist():
                q = _convex_order([(int(c[k] * w), int(c[k + 4] * h)) for k in range(4)])
                if q and _shape_ok(q, h, w, **rules): want = q; break
        assert got.tolist() == [list(v) for v in want]


# --- generator version 2: inscribed regions, the pasted effect, the difference panel, saturating offsets

@settings(max_examples=60, deadline=None)
@given(st.integers(16, 300), st.integers(16, 300), st.integers(0, 2**32 - 1),
       st.sampled_from([{}, dict(min_area=0.3, max_area=0.4, max_angle=120.), dict(min_area=0.05, max_area=0.2, min_dist=0.2)]))
def test_inscribed_polygon_follows_the_rules(h, w, seed, kw):
    "Any size and rule set the rejection sampler serves (thin images with tight rules defeat both samplers)."
    assume(max(h, w) <= 3 * min(h, w))
    rng = np.random.default_rng(seed)
    for _ in range(20):
        p = inscribed_polygon(h, w, rng, **kw)
        assert p.shape == (4, 2) and p.dtype == np.int32
        assert is_valid_polygon(p, h, w, **kw), (p.tolist(), h, w, kw)


def test_inscribed_polygon_is_seeded_and_like_the_rejection_sampler():
    a = [inscribed_polygon(64, 64, np.random.default_rng(s)).tolist() for s in range(5)]
    assert a == [inscribed_polygon(64, 64, np.random.default_rng(s)).tolist() for s in range(5)]
    assert len({str(p) for p in a}) == 5
    rng = np.random.default_rng(0)
    ins = np.mean([polygon_mask(inscribed_polygon(64, 64, rng), 64, 64).mean() for _ in range(400)])
    rej = np.mean([polygon_mask(random_polygon(64, 64, rng), 64, 64).mean() for _ in range(400)])
    assert abs(ins - rej) < 0.05, (ins, rej)  # about the same share of the image on average
    for h, w in ((8, 86), (8, 8), (12, 200)):  # thin or tiny: ellipses rarely fit, the rejection sampler takes over
        assert is_valid_polygon(inscribed_polygon(h, w, rng), h, w)
    with pytest.raises(ValueError, match="too small"): inscribed_polygon(6, 40, rng)
    with pytest.raises(ValueError, match="loosen"): inscribed_polygon(64, 64, rng, min_area=0.9, max_area=0.95)


def test_alter_region_choice():
    img, rng = _photo(48), np.random.default_rng(0)
    for sc in SUBCLASSES:
        out, poly, e = alter(img, sc, rng, region="inscribed")
        mask = polygon_mask(poly, 48, 48).astype(bool)
        assert not ((out != img).any(-1) & ~mask).any()  # only inside the region
        assert is_valid_polygon(poly, 48, 48) and e == effect(img, out, mask.astype(np.uint8))
    with pytest.raises(ValueError, match="unknown region 'square'; valid: rejection, inscribed"):
        alter(img, 'blob_red', rng, region="square")


def test_pasted_effect_equals_effect_bit_for_bit():
    img, rng = _photo(64, 3), np.random.default_rng(1)
    for k in range(300):
        p = random_polygon(64, 64, rng) if k % 2 else inscribed_polygon(64, 64, rng)
        m, box = polygon_mask(p, 64, 64), polygon_box(p)
        out = apply_alteration(img, SUBCLASSES[k % 14], m, rng, box)
        assert pasted_effect(img, out, m, box) == effect(img, out, m, box)
        assert pasted_effect(img, out, m) == effect(img, out, m)


def test_add_offset_saturates_like_a_clip():
    rng = np.random.default_rng(0)
    for t in range(200):
        img = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
        m = polygon_mask(random_polygon(20, 24, rng), 20, 24)
        ch, off = ('red', 'green', 'blue', 'all')[t % 4], int(rng.integers(-120, 121))
        want = img.astype(np.int16)
        if ch == 'all': want += off
        else: want[..., ('red', 'green', 'blue').index(ch)] += off
        want = np.where(m[..., None] == 1, np.clip(want, 0, 255), img).astype(np.uint8)
        np.testing.assert_array_equal(add_offset(img, m, ch, off), want)


def test_difference_image():
    img = _photo(32)
    m = polygon_mask(random_polygon(32, 32, np.random.default_rng(2)), 32, 32)
    out = add_offset(img, m, 'green', 40)
    d = difference_image(img, out, gain=1)
    assert d.dtype == np.uint8 and d.shape == img.shape
    assert d[m == 0].max() == 0 and d[..., [0, 2]].max() == 0  # untouched pixels and channels are black
    np.testing.assert_array_equal(d, cv2.absdiff(img, out))
    assert difference_image(img, out).max() == 255  # stretched by default
    assert difference_image(img, img).max() == 0

"""The review app (review.html) in a real headless Chromium, driven by selenium through chromedriver, as a user works it:
opened from disk with the network off, filtered, 20 images decided by keyboard, reloaded, exported; `apply` on the export
gives exactly those labels. And 10,000 suspects: open and interactive in under 2 s, the file proportional to its
thumbnails. Skipped when chromium, chromedriver or selenium is missing (marker `browser`)."""
import json, os, shutil, time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from false_labels.review.apply import apply_decisions
from false_labels.data.dataset import DROPPED, Dataset
from false_labels.data.formats import import_images
from false_labels.review.app import review_page, suspects_table

CLASSES = ("apple", "lime", "plum")


@pytest.fixture
def browser(chromium, tmp_path):
    "A headless Chromium under selenium: no network (a dead proxy), downloads into tmp_path/downloads, request log on."
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    driver_bin = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not driver_bin: pytest.skip("no chromedriver (apt-get install -y chromium-driver, or set $CHROMEDRIVER)")
    o = webdriver.ChromeOptions(); o.binary_location = chromium
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
              "--no-first-run", "--disable-dev-shm-usage", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
              "--window-size=1280,900"):
        o.add_argument(a)
    (tmp_path/"downloads").mkdir()
    o.add_experimental_option("prefs", {"download.default_directory": str(tmp_path/"downloads"), "download.prompt_for_download": False})
    o.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    d = webdriver.Chrome(service=Service(driver_bin), options=o)
    d.execute_cdp_cmd("Network.enable", {})
    d.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*", "ws://*", "wss://*"]})
    yield d
    d.quit()


def _requests(d)->list:
    out = []
    for e in d.get_log("performance"):
        m = json.loads(e["message"])["message"]
        if m["method"] == "Network.requestWillBeSent": out.append(m["params"]["request"]["url"])
    return out


def _open(d, page:Path, timeout=30):
    d.get(page.resolve().as_uri())
    t = time.time()
    while time.time() - t < timeout and d.execute_script("return document.body && document.body.dataset.ready") != "1": time.sleep(0.05)
    assert d.execute_script("return document.body.dataset.ready") == "1", d.get_log("browser")


def _keys(d, *keys):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    names = {"right": Keys.ARROW_RIGHT, "left": Keys.ARROW_LEFT}
    for k in keys: ActionChains(d).send_keys(names.get(k, k)).perform()


@pytest.fixture
def photos(tmp_path):
    "90 photos in three class folders, imported, and a made-up detection of them (seeded)."
    rng = np.random.default_rng(0)
    for k, c in enumerate(CLASSES):
        (tmp_path/"photos"/c).mkdir(parents=True)
        for i in range(30):
            im = rng.integers(0, 80, (24, 24, 3), dtype=np.uint8); im[..., k] += 150
            cv2.imwrite(str(tmp_path/"photos"/c/f"{c}{i:02d}.jpg"), im)
    ds = import_images(tmp_path/"photos", out=tmp_path/"ds", size=16, progress=False)
    n, given = len(ds), ds.label_set()
    probs = rng.dirichlet(np.ones(3) * 0.5, n)
    sus = suspects_table(ds, np.arange(n), given, probs, {"ema": rng.random(n), "cl": rng.random(n), "ensemble": rng.random(n)},
                         suspect=rng.random(n) < 0.3)
    return ds, sus, tmp_path


def _expected(rows:pd.DataFrame, keys:list)->dict:
    "What the documented keys do on `rows` (the filtered view in order): path -> (decision, label)."
    pos, dec, undo = 0, {}, []
    for k in keys:
        r = rows.iloc[pos]
        if k == "right": pos = min(pos + 1, len(rows) - 1); continue
        if k == "left": pos = max(pos - 1, 0); continue
        if k == "z":
            p, prev = undo.pop()
            if prev is None: dec.pop(p)
            else: dec[p] = prev
            continue
        new = {"k": ("keep", r.given_name), "d": ("drop", ""), "u": ("unsure", r.given_name),
               "a": ("keep", r.given_name) if r.suggested == r.given else ("relabel", r.suggested_name)}.get(k)
        if new is None: new = ("relabel", CLASSES[(int(k) + 9) % 10])
        undo.append((r.path, dec.get(r.path))); dec[r.path] = new
        pos = min(pos + 1, len(rows) - 1)
    return dec


@pytest.mark.browser
def test_review_app_filter_decide_by_keyboard_reload_export_apply(browser, photos):
    ds, sus, tmp = photos
    page = review_page(sus, ds, tmp/"review.html")
    d = browser
    _open(d, page)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    assert d.find_element(By.ID, "progress").text == "0 of 90 decided"
    Select(d.find_element(By.ID, "f-given")).select_by_visible_text("lime")            # filter: given class lime
    d.find_element(By.TAG_NAME, "h1").click()                                          # focus back on the page
    shown = d.execute_script("return Array.from(document.querySelectorAll('.card')).map(c => c.dataset.key)")
    rows = sus[sus.given_name == "lime"].sort_values("rank")
    assert shown == rows.path.tolist()                                                 # the filtered view, by rank
    keys = list("kdau2k") + ["right", "d", "left", "k"] + list("13aazkuddkd") + ["k", "a", "u", "d"]
    want = _expected(rows, keys)
    _keys(d, *keys)
    assert len(want) == 20, len(want)
    assert d.find_element(By.ID, "progress").text == "20 of 90 decided"
    d.refresh(); _open(d, page)                                                        # decisions survive a reload
    assert d.find_element(By.ID, "progress").text == "20 of 90 decided"
    got = d.execute_script("return flReview.decisions()")
    assert {k: (v["d"], v["l"]) for k, v in got.items()} == want
    d.find_element(By.ID, "export").click()
    f = tmp/"downloads"/"decisions.csv"
    t = time.time()
    while time.time() - t < 20 and not f.exists(): time.sleep(0.1)
    exported = pd.read_csv(f, keep_default_na=False)
    assert list(exported.columns) == ["path", "decision", "label", "decided_at"] and len(exported) == 20
    assert all(u.startswith(("file://", "data:", "blob:")) for u in _requests(d)), _requests(d)   # nothing from the network
    res = apply_decisions(f, ds.path, name="reviewed")
    lab, names, given = res.dataset.label_set("reviewed"), list(ds.classes("label")), ds.label_set()
    expect = given.copy()
    path_id = {p: i for i, p in enumerate(ds.manifest.path)}
    for p, (dec, label) in want.items():
        expect[path_id[p]] = DROPPED if dec == "drop" else names.index(label)
    assert (lab == expect).all() and (res.dataset.label_set() == given).all()


@pytest.mark.browser
def test_review_app_bulk_accept_and_undo(browser, photos):
    ds, sus, tmp = photos
    page = review_page(sus, ds, tmp/"review.html")
    d = browser
    _open(d, page)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    Select(d.find_element(By.ID, "f-flag")).select_by_value("1")                       # flagged only
    box = d.find_element(By.ID, "b-p"); box.clear(); box.send_keys("0.6")
    want = sus[sus.suspect & (sus.suggested_prob >= 0.6) & (sus.suggested != sus.given)]
    assert f"({len(want)} in view)" in d.find_element(By.ID, "b-accept").text
    d.find_element(By.ID, "b-accept").click()
    got = d.execute_script("return flReview.decisions()")
    assert {k: v["l"] for k, v in got.items()} == dict(zip(want.path, want.suggested_name))
    d.find_element(By.ID, "undo").click()                                               # one undo takes the bulk back
    assert d.execute_script("return Object.keys(flReview.decisions()).length") == 0


def _big(n:int, size:int=32, seed:int=0)->tuple:
    "An in-memory dataset of n smooth images (photo-like JPEG sizes) and a detection flagging every image."
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = (np.stack([yy, xx, 1 - yy], -1) * 255).astype(np.uint8)
    images = np.empty((n, size, size, 3), np.uint8)
    for i in range(n): images[i] = np.clip(base * rng.uniform(0.3, 1, 3) + rng.integers(0, 30, (size, size, 1)), 0, 255)
    labels = rng.integers(0, 10, n)
    ds = Dataset.from_arrays(images, labels, [f"class{i}" for i in range(10)], splits=["train"] * n)
    probs = rng.dirichlet(np.ones(10), n)
    sus = suspects_table(ds, np.arange(n), labels, probs, {"ema": rng.random(n), "cl": rng.random(n)}, suspect=np.ones(n, bool))
    return ds, sus


@pytest.mark.browser
def test_review_app_10000_suspects_open_and_answer_in_under_2s(browser, tmp_path):
    ds, sus = _big(10_000)
    page = review_page(sus, ds, tmp_path/"big.html")
    d = browser
    from selenium.webdriver.common.by import By
    _open(d, page, timeout=60)
    ready_ms = d.execute_script("return window.flReadyMs")                         # from navigation start to a usable page
    t0 = d.execute_script("return performance.now()")
    _keys(d, "k", "right", "d")
    took = d.execute_script("return performance.now()") - t0
    assert d.find_element(By.ID, "progress").text == "2 of 10000 decided"
    assert d.execute_script("return document.querySelectorAll('.card').length") == 60     # one page in the document
    print(f"10,000 suspects: {page.stat().st_size / 1e6:.1f} MB, ready in {ready_ms:.0f} ms, 3 keys answered in {took:.0f} ms")
    assert ready_ms < 2000 and took < 1000


def test_review_page_size_follows_the_thumbnails_not_the_images(tmp_path):
    ds, sus = _big(200, size=256)
    small = review_page(sus, ds, tmp_path/"a.html", thumb=64).stat().st_size
    half = review_page(sus.head(100).assign(rank=np.arange(1, 101)), ds, tmp_path/"b.html", thumb=64).stat().st_size
    full = sum(len(cv2.imencode(".jpg", im)[1]) for im in ds.images)                   # the images at full size, as JPEGs
    assert small < 0.25 * full, (small, full)
    assert 1.7 < (small - 40_000) / (half - 40_000) < 2.3                              # grows with the images shown (page ~40 kB)

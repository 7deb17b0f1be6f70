"""Shared fixtures of the test suite."""
import os, shutil
import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    "Tiny models and tensors: one thread avoids OpenMP spin-waiting on a busy 2-core machine."
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True)
def _import_cache(tmp_path, monkeypatch):
    "Imports (`imports.import_images`, `--data <folder>`) are cached in a folder of the test, never in the user's cache."
    monkeypatch.setenv("FALSE_LABELS_CACHE", str(tmp_path/"import_cache"))


@pytest.fixture
def chromium():
    "Headless Chromium's binary, or the test is skipped (apt-get install -y chromium, or set $CHROMIUM)."
    for c in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if c and shutil.which(c): return shutil.which(c)
    pytest.skip("no chromium binary (apt-get install -y chromium, or set $CHROMIUM)")

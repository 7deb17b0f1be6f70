"""Toy datasets for fast CPU tests."""
import numpy as np

from false_labels.dataset import Dataset


def colour_toy(n=300, size=16, seed=0, strength=120, n_classes=3, names=None):
    "Images whose class (mod 3) is the brightest colour channel, on noise: easy to learn, so small losses mean clean labels."
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n)
    imgs = rng.integers(0, 100, (n, size, size, 3), dtype=np.uint8)
    imgs[np.arange(n), :, :, labels % 3] += strength
    return Dataset.from_arrays(imgs, labels, names or ["red", "green", "blue"][:n_classes], seed=seed)

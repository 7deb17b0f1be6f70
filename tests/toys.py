"""Toy datasets for fast CPU tests (the package's `false_labels.study.toys`)."""
from false_labels.study.toys import colour_toy  # noqa: F401

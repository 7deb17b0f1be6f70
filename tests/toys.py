"""Toy datasets for fast CPU tests (the package's `false_labels.toys`)."""
from false_labels.toys import colour_toy  # noqa: F401

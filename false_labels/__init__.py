"""false_labels: measure, detect and survive corrupted labels in image classification.

The rooms, bottom first (each imports only rooms below it):
`core` and `arrays` (files, errors, array checks), `noise/` (corrupting labels), `data/` (the dataset format, import
formats, the generator), `training/` (loaders, learner, recipes, the k-fold trainer), `review/` (the review app, the
decisions format, apply), `detectors/` (one module per detector, the pipeline that runs them), `methods/` (one module
per robust method), `study/` (plans, sweeps, analysis, report, benchmark) and `cli`.

The public API is importable from here (`from false_labels import train_run`); a name is imported from its room on
first use, so `import false_labels` stays light (no torch)."""
__version__ = "0.1.0"

import importlib as _importlib
import warnings as _warnings
# Importing fastai calls the deprecated `torch.jit.script`: silenced once here, before any module imports fastai.
_warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)

# public name -> the module that defines it (CHANGELOG.md lists where each name lived before 0.2)
_API = {
    "data.dataset": "Dataset load_dataset write_dataset",
    "data.generate": "generate_dataset",
    "data.formats": "import_images register_format",
    "data.labels": "run_labels",
    "noise.spec": "NoiseSpec",
    "noise.corrupt": "corrupt noise_matrix",
    "noise.theory": "expected_noisy_accuracy",
    "training.recipes": "Recipe RunOptions RECIPES resolve_recipe",
    "training.learner": "train_run load_model",
    "training.checks": "learning_check",
    "detectors.registry": "register_detector registered_detectors run_detectors evaluate_detectors",
    "detectors.options": "DetectOptions",
    "detectors.confident": "find_label_issues",
    "detectors.pipeline": "detect_labels detect_in_memory",
    "detectors.trust": "expected_precision",
    "methods.registry": "register_method registered_methods methods train_method",
    "study.plan": "SweepAxes plan_sweep",
    "study.sweep": "run_sweep",
    "study.analysis": "load_results regress_on_ratio theory_check robustness",
    "study.report": "write_report",
    "study.benchmark": "run_benchmark",
    "results": "collect_results",
    "review.app": "review_page review_widget",
    "review.decisions": "read_decisions write_decisions",
    "review.apply": "apply_decisions",
}
_WHERE = {name: mod for mod, names in _API.items() for name in names.split()}
__all__ = sorted(_WHERE)


def __getattr__(name):
    "Import a public name from its room on first use."
    if name in _WHERE:
        value = getattr(_importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__(): return sorted(list(globals()) + __all__)

"The registries list the built-in entries in one fixed order, whoever re-registered them (a notebook run in the same process re-registers them from `__main__`)."
import dataclasses
from false_labels.detectors.registry import DETECTORS, register_detector, registered_detectors
from false_labels.detectors.ensemble import ensemble_members
from false_labels.methods.registry import registered_methods, load_methods


def _restore(saved):
    DETECTORS.clear(); DETECTORS.update(saved)


def test_detector_order_survives_re_registration():
    saved = dict(registered_detectors())
    try:
        before = list(registered_detectors())
        for name in ("tv", "incv", "ema"):   # re-registered by code outside the package, in another order
            d = DETECTORS.pop(name)
            register_detector(dataclasses.replace(d, fn=lambda stats, **kw: None))
        assert list(registered_detectors()) == before
        assert ensemble_members() == ("ema", "aum", "cl", "incv", "tv")
    finally:
        _restore(saved)


def test_method_order_survives_re_registration():
    reg = load_methods()
    saved = dict(reg)
    try:
        before = [s.name for s in registered_methods()]
        for name in ("forward", "elr", "coteaching"):
            spec = reg.pop(name)
            reg[name] = dataclasses.replace(spec, setup=lambda *a, **k: None)
        assert [s.name for s in registered_methods()] == before
    finally:
        reg.clear(); reg.update(saved)

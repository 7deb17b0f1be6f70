"Recipes: auto picks from the data and the machine, explicit options override and keep their meaning, params.json says why."
import json
from false_labels.cli import main
from false_labels.training.recipes import RECIPES
from test_checks import make

def test_train_records_the_auto_recipe_and_what_the_user_set(tmp_path, capsys, one_thread):
    data = make("good", tmp_path)
    rc = main(["train", "--data", str(data), "--out", str(tmp_path/"run"), "--bs", "16", "--device", "cpu", "--quiet"])
    assert rc == 0, capsys.readouterr().err[-2000:]
    p = json.loads((tmp_path/"run"/"params.json").read_text())
    r, small = p["recipe"], RECIPES["cpu_small"]
    assert r["name"] == "cpu_small" and r["auto"] and "fewer than" in r["why"] and r["overridden"] == ["bs"]
    assert (p["arch"], p["bs"], p["opt"], p["epochs"]) == (small.arch, 16, small.opt, small.epochs)     # --bs keeps its meaning

def test_a_named_recipe_and_explicit_options(tmp_path, capsys, one_thread):
    data = make("good", tmp_path)
    rc = main(["train", "--data", str(data), "--out", str(tmp_path/"run"), "--recipe", "study", "--arch", "small_cnn",
               "--epochs", "2", "--device", "cpu", "--quiet", "--allow-no-learning"])
    assert rc == 0, capsys.readouterr().err[-2000:]
    p = json.loads((tmp_path/"run"/"params.json").read_text())
    assert p["recipe"]["name"] == "study" and not p["recipe"]["auto"] and (p["arch"], p["opt"], p["bs"]) == ("small_cnn", "adamw", 64)
    assert main(["train", "--data", str(data), "--out", str(tmp_path/"x"), "--recipe", "fast"]) == 2
    assert "unknown recipe 'fast'" in capsys.readouterr().err

def test_detect_uses_the_recipe(tmp_path, capsys, one_thread):
    data = make("good", tmp_path)
    rc = main(["detect", "--data", str(data), "--out", str(tmp_path/"d"), "--method", "cl", "--folds", "2", "--epochs", "10", "--bs", "16",
               "--device", "cpu", "--quiet", "--ratio", "0.2"])
    assert rc == 0, capsys.readouterr().err[-2000:]
    p = json.loads((tmp_path/"d"/"params.json").read_text())
    assert p["recipe_info"]["name"] == "cpu_small" and p["arch"] == "cpu_net_small" and p["opt"] == "adamw" and p["epochs"] == 10

def test_explicit_options_mean_the_same_under_every_recipe(tmp_path, capsys, one_thread):
    "Every training option set explicitly: the auto recipe, a named one and the Python API without recipes train bit-identical runs."
    import pandas as pd
    from false_labels.methods.registry import train_method
    data = make("good", tmp_path)
    explicit = ["--arch", "small_cnn", "--epochs", "2", "--bs", "32", "--opt", "sgd", "--lr", "0.05", "--loss", "ce",
                "--precision", "fp32", "--device", "cpu", "--quiet", "--allow-no-learning"]
    runs = {}
    for name, extra in (("auto", []), ("cpu_photo", ["--recipe", "cpu_photo"]), ("study", ["--recipe", "study"])):
        rc = main(["train", "--data", str(data), "--out", str(tmp_path/name), *explicit, *extra])
        assert rc == 0, capsys.readouterr().err[-2000:]
        runs[name] = pd.read_csv(tmp_path/name/"metrics.csv")
        assert sorted(json.loads((tmp_path/name/"params.json").read_text())["recipe"]["overridden"]) == \
            ["arch", "bs", "epochs", "loss", "lr", "opt", "precision"]
    train_method(data, tmp_path/"api", arch="small_cnn", epochs=2, bs=32, opt="sgd", lr=0.05, loss="ce", precision="fp32", device="cpu")
    runs["api"] = pd.read_csv(tmp_path/"api"/"metrics.csv")
    cols = [c for c in runs["auto"].columns if "time" not in c and "seconds" not in c]
    for name, m in runs.items():
        pd.testing.assert_frame_equal(m[cols], runs["auto"][cols], check_exact=True, obj=name)

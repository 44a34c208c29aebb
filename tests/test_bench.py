"""Tests of companion.lab.bench (time-to-accuracy benchmark) and the ``bench`` command."""

import json
import re
import types

import numpy as np
import pandas as pd
import pytest

from companion.__main__ import main
from companion.lab.recipes import (default_recipe, recipe_defaults, self_normalizing_recipe,
                                   sgd_1cycle_recipe)
from companion.lab.bench import (BenchResult, format_table, run_once, RUN_COLUMNS, summarize_runs,
                             SUMMARY_COLUMNS, time_to_accuracy)

SMALL = {name: {"depth": 1, "width": 16}
         for name in ("naive", "default", "self_normalizing", "keras_defaults", "sgd_1cycle")}


def _dataset(seed, *, noise=0.3, random_valid=False):
    """Ten classes, each a bright 4x4 patch at its own place: easy to learn."""
    rng = np.random.default_rng(seed)

    def split(n, random_labels=False):
        y = rng.integers(0, 10, size=n)
        x = rng.normal(0.0, noise, size=(n, 28, 28)).astype("float32")
        for i, label in enumerate(y):
            x[i, 4 * (label // 5) + 8: 4 * (label // 5) + 12, 4 * (label % 5) + 2:
              4 * (label % 5) + 6] += 2.0
        if random_labels:
            y = rng.integers(0, 10, size=n)
        return x, y.astype("uint8")

    x_train, y_train = split(320)
    x_valid, y_valid = split(160, random_valid)
    return types.SimpleNamespace(x_train=x_train, y_train=y_train, x_valid=x_valid,
                                 y_valid=y_valid)


@pytest.fixture(scope="module")
def easy():
    data = _dataset(0)
    return {"unit": data, "standard": data}


@pytest.fixture(scope="module")
def reached(easy):
    return time_to_accuracy(["default", "self_normalizing"], target=0.6, seeds=[0, 3],
                            max_epochs=8, data=easy,
                            recipe_kwargs={k: SMALL[k] for k in ("default", "self_normalizing")})


@pytest.fixture(scope="module")
def missed():
    data = _dataset(1, random_valid=True)  # validation labels are noise: ~10% accuracy
    return time_to_accuracy(["naive", "default"], target=0.9, seeds=2, max_epochs=3,
                            data={"unit": data, "standard": data},
                            recipe_kwargs={"naive": SMALL["naive"],
                                           "default": SMALL["default"]})


def test_runs_table_when_the_target_is_reached(reached):
    runs = reached.runs
    assert list(runs.columns) == list(RUN_COLUMNS)
    assert runs[["seed", "configuration"]].values.tolist() == [
        [0, "default"], [0, "self_normalizing"], [3, "default"], [3, "self_normalizing"]]
    assert runs["reached"].all()
    # stopped at the first epoch that reached the target, within the cap
    assert (runs["epochs"] == runs["epochs_run"]).all()
    assert (runs["epochs_run"] <= 8).all()
    assert np.allclose(runs["seconds"], runs["seconds_run"])
    assert (runs["best_val_accuracy"] >= 0.6).all()


def test_never_reached_runs_are_kept_and_marked(missed):
    runs = missed.runs
    assert len(runs) == 4 and not runs["reached"].any()
    assert runs["epochs"].isna().all() and runs["seconds"].isna().all()
    assert (runs["epochs_run"] == 3).all()  # the cap
    assert (runs["seconds_run"] > 0).all()
    summary = missed.summary
    assert summary["reached"].tolist() == [0, 0] and summary["runs"].tolist() == [2, 2]
    assert summary["epochs_median"].tolist() == [3.0, 3.0]
    assert "0/2" in missed.table() and ">=3 [3, 3]" in missed.table()


@pytest.mark.parametrize("fixture", ["reached", "missed"])
def test_summary_matches_numpy(fixture, request):
    result = request.getfixturevalue(fixture)
    assert list(result.summary.columns) == list(SUMMARY_COLUMNS)
    for name, group in result.runs.groupby("configuration"):
        ok = group["reached"].to_numpy()
        seconds = np.where(ok, group["seconds"], group["seconds_run"])
        epochs = np.where(ok, group["epochs"], group["epochs_run"])
        # the one rule by which a miss is counted: at what the run took up to the cap
        assert np.allclose(group["seconds_counted"], seconds)
        assert np.allclose(group["epochs_counted"], epochs)
        row = result.summary.loc[name]
        assert row["seconds_median"] == pytest.approx(np.median(seconds))
        assert row["seconds_min"] == pytest.approx(seconds.min())
        assert row["seconds_max"] == pytest.approx(seconds.max())
        assert row["epochs_median"] == pytest.approx(np.median(epochs))
        assert (row["epochs_min"], row["epochs_max"]) == (epochs.min(), epochs.max())
        assert row["best_val_accuracy"] == pytest.approx(np.median(group["best_val_accuracy"]))


def test_summary_of_a_mixed_table_by_hand():
    runs = pd.DataFrame({"configuration": ["a", "a", "a", "b"], "seed": [0, 1, 2, 0],
                         "reached": [True, False, True, True], "epochs": [2, np.nan, 4, 1],
                         "seconds": [1.0, np.nan, 3.0, 0.5], "epochs_run": [2, 6, 4, 1],
                         "seconds_run": [1.0, 5.0, 3.0, 0.5],
                         "epochs_counted": [2, 6, 4, 1], "seconds_counted": [1.0, 5.0, 3.0, 0.5],
                         "best_val_accuracy": [0.9, 0.7, 0.91, 0.95]})
    summary = summarize_runs(runs)
    assert summary.index.tolist() == ["a", "b"]
    assert summary.loc["a"].tolist() == [3, 2, 4.0, 2.0, 6.0, 3.0, 1.0, 5.0, 0.9]
    text = format_table(summary, target=0.85, max_epochs=6)
    assert re.search(r"^a\s+2/3\s+>=4 \[2, 6\]\s+>=3\.0 \[1\.0, 5\.0\]", text, re.M), text
    assert re.search(r"^b\s+1/1\s+1 \[1, 1\]\s+0\.5 \[0\.5, 0\.5\]", text, re.M), text
    with pytest.raises(ValueError, match=r"runs lacks columns \['seconds_counted'\]"):
        summarize_runs(runs.drop(columns="seconds_counted"))


def test_json_round_trip(missed, tmp_path):
    path = tmp_path / "bench.json"
    text = missed.to_json(path)
    assert json.loads(path.read_text()) == json.loads(text)
    back = BenchResult.from_json(path)
    pd.testing.assert_frame_equal(back.runs, missed.runs, check_dtype=False)
    pd.testing.assert_frame_equal(back.summary, missed.summary, check_dtype=False)
    assert (back.target, back.max_epochs) == (0.9, 3)
    assert back.settings == missed.settings
    assert BenchResult.from_json(text).table() == missed.table()


@pytest.mark.parametrize("kwargs, message", [
    ({"configs": ["fast"]}, r"unknown configs \['fast'\]; valid choices"),
    ({"configs": []}, r"configs must hold at least 1 name\(s\), got \[\]"),
    ({"configs": ["naive", "naive"]}, "must be distinct"),
    ({"target": 1.5}, "target must be"),
    ({"max_epochs": 0}, "max_epochs must be"),
    ({"seeds": [1, 1]}, "seeds must be"),
    ({"seeds": 0}, "seeds must be"),
    ({"recipe_kwargs": {"other": {}}}, "not among configs"),
    ({"data": {"unit": None}, "configs": ["default"]}, "no dataset for scaling 'standard'"),
])
def test_bad_arguments(kwargs, message):
    arguments = {"configs": ["naive"], "target": 0.5, "seeds": 1, "max_epochs": 1,
                 "data": {"unit": None, "standard": None}, **kwargs}
    with pytest.raises(ValueError, match=message):
        time_to_accuracy(**arguments)


def test_cli_bench_prints_a_table_and_writes_json(tmp_path, real_data_dir, monkeypatch,
                                                  capsys):
    monkeypatch.setenv("COMPANION_DATA_DIR", str(real_data_dir))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    path = tmp_path / "out.json"
    # one seed (not the default 3) is enough to see --seeds reach the benchmark: the table
    # of several seeds is tested on its own (test_summary_matches_numpy)
    assert main(["bench", "--configs", "naive", "default", "--seeds", "1", "--target",
                 "0.99", "--max-epochs", "1", "--train-size", "64", "--json",
                 str(path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^naive\s+0/1\s+>=1 \[1, 1\]", out, re.M), out
    assert re.search(r"^default\s+0/1\s+>=1 \[1, 1\]", out, re.M), out
    saved = json.loads(path.read_text())
    assert saved["settings"]["train_size"] == 64 and len(saved["runs"]) == 2
    assert saved["settings"]["seeds"] == [0]  # one seed, --first-seed's default
    assert [row["configuration"] for row in saved["summary"]] == ["naive", "default"]


def test_plot_time_to_accuracy_marks_misses_and_medians():
    import matplotlib.pyplot as plt

    from companion.book.plots import plot_time_to_accuracy

    runs = pd.DataFrame({"configuration": ["a", "a", "a", "b", "b"],
                         "reached": [True, False, True, True, True],
                         "seconds": [1.0, np.nan, 3.0, 0.5, 0.7],
                         "seconds_counted": [1.0, 6.0, 3.0, 0.5, 0.7],
                         "epochs": [1, np.nan, 2, 1, 1], "epochs_counted": [1, 4, 2, 1, 1]})
    fig = plot_time_to_accuracy(runs, target=0.8)
    ax = fig.axes[0]
    filled, hollow = ax.collections[0], ax.collections[1]  # configuration "a"
    assert sorted(filled.get_offsets()[:, 1].tolist()) == [1.0, 3.0]
    assert hollow.get_offsets()[:, 1].tolist() == [6.0]
    medians = [c for c in ax.collections if c.get_label() == "median over seeds"
               or type(c).__name__ == "LineCollection"]
    assert [seg[0][1] for c in medians for seg in c.get_segments()] == [3.0, 0.6]
    assert "0.8" in ax.get_ylabel()
    plt.close(fig)
    with pytest.raises(ValueError, match="unknown metric 'loss'"):
        plot_time_to_accuracy(runs, metric="loss")


@pytest.mark.parametrize("argv, message", [
    (["--configs", "fancy"], r"unknown configs \['fancy'\]; valid choices"),
    (["--target", "1.5"], "target must be a finite number in \\(0, 1\\], got 1.5"),
])
def test_cli_reports_bad_arguments_in_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["bench", "--seeds", "1", "--max-epochs", "1", "--train-size", "64", *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert re.search(message, err.splitlines()[-1])


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

@pytest.mark.parametrize("call, error, message", [
    (lambda: run_once("default", None, max_epochs=1), TypeError,
     "builder must be callable, got str 'default'"),
    (lambda: run_once(lambda **kwargs: None, "data", max_epochs=1), TypeError,
     "data must have x_train, y_train, x_valid, y_valid"),
    (lambda: run_once(lambda **kwargs: None, TINY, max_epochs=0), ValueError,
     "max_epochs must be an integer >= 1, got 0"),
    (lambda: run_once(lambda **kwargs: None, TINY, max_epochs=1, batch_size=0), ValueError,
     "batch_size must be an integer >= 1, got 0"),
    (lambda: run_once(lambda **kwargs: None, TINY, max_epochs=1, reuse={}), ValueError,
     "reuse needs seed=, an integer >= 0 (got seed=None)"),
    (lambda: run_once(lambda **kwargs: None, TINY, max_epochs=1, seed=1, reuse=[]), TypeError,
     "reuse must be a mapping"),
    (lambda: run_once(lambda **kwargs: None, TINY, max_epochs=1, seed=-1), ValueError,
     "seed must be an integer >= 0, got -1"),
    (lambda: time_to_accuracy("default", target=0.5), TypeError,
     "configs must be a list of names, got the string 'default'; write ['default']"),
    (lambda: time_to_accuracy(["naive"], target=float("nan")), ValueError,
     "target must be a finite number in (0, 1], got nan"),
    (lambda: time_to_accuracy(["naive"], target=0.5, recipe_kwargs="x"), TypeError,
     "recipe_kwargs must be a mapping (a dict) from configuration names to keyword dicts"),
    (lambda: summarize_runs(pd.DataFrame(columns=list(RUN_COLUMNS))), ValueError,
     "runs is empty"),
    (lambda: BenchResult.from_json(3), TypeError,
     "text_or_path must be a JSON string or a file path, got int 3"),
    (lambda: BenchResult.from_json("{}"), ValueError,
     "text_or_path '{}' is not what BenchResult.to_json writes"),
])
def test_bad_inputs_name_the_argument(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


TINY = types.SimpleNamespace(x_train=np.zeros((8, 4)), y_train=np.zeros(8),
                             x_valid=np.zeros((4, 4)), y_valid=np.zeros(4))


def _without_training(monkeypatch):
    """Replace the benchmark's ``train`` by a recorder; return the list of its calls.

    For the tests of what is decided before training (batch sizes, the schedule's length,
    which recipe is kept): they read the model the benchmark built and what it passed to
    ``train``, which a real fit would not change, and they skip its graph tracing (a
    second or two per model). Each call records the model's name, the batch size, the
    epochs and the steps its schedule is laid over (``None`` without a schedule), and
    returns a run that never reached any target: ``epochs`` rows, validation accuracy 0.
    Real training through the benchmark is tested above and in
    test_reuse_trains_a_kept_recipe_like_a_fresh_one.
    """
    from companion.lab import bench as bench_module
    from companion.lab.training import TrainingResult

    calls = []

    def record(model, data, *, epochs, batch_size, **kwargs):
        schedule = model.optimizer._learning_rate
        calls.append((model.name, batch_size, epochs, int(schedule.total_steps)
                      if hasattr(schedule, "total_steps") else None))
        history = pd.DataFrame({"val_accuracy": np.zeros(epochs), "seconds": np.ones(epochs)},
                               index=pd.RangeIndex(1, epochs + 1, name="epoch"))
        return TrainingResult(model=model, history=history, test={})

    monkeypatch.setattr(bench_module, "train", record)
    return calls


# --- the practitioners' baselines: each trained with its own batch size ------------------

def test_each_configuration_trains_with_its_own_batch_size_and_progress_counts_runs(
        easy, monkeypatch):
    calls, steps = [], {}
    from companion.lab import bench as bench_module

    real_train = bench_module.train

    def spy(model, data, *, batch_size, **kwargs):
        steps[model.name] = (batch_size, int(model.optimizer._learning_rate.total_steps)
                             if hasattr(model.optimizer._learning_rate, "total_steps")
                             else None)
        return real_train(model, data, batch_size=batch_size, **kwargs)

    import unittest.mock
    with unittest.mock.patch.object(bench_module, "train", spy):
        result = time_to_accuracy(["keras_defaults", "sgd_1cycle"], target=0.99, seeds=[0, 1],
                                  max_epochs=2, data=easy,
                                  recipe_kwargs={k: SMALL[k] for k in
                                                 ("keras_defaults", "sgd_1cycle")},
                                  progress=lambda *args: calls.append(args))
    assert result.settings["batch_sizes"] == {"keras_defaults": 32, "sgd_1cycle": 128}
    # the 1cycle schedule is laid over the cap at the recipe's batch size: 2 * ceil(320 / 128)
    assert steps["keras_defaults_recipe"] == (32, None)
    assert steps["sgd_1cycle_recipe"] == (128, 2 * -(-320 // 128))
    # the order within a seed rotates from seed to seed; the table keeps configs' order
    assert calls == [(1, 4, "keras_defaults", 0), (2, 4, "sgd_1cycle", 0),
                     (3, 4, "sgd_1cycle", 1), (4, 4, "keras_defaults", 1)]
    assert result.runs[["seed", "configuration"]].values.tolist() == [
        [0, "keras_defaults"], [0, "sgd_1cycle"], [1, "keras_defaults"], [1, "sgd_1cycle"]]
    # one batch size for all overrides the recipes' own, in the settings and in training
    # (the real runs above trained both recipes; here only the batch size is in question)
    trained = _without_training(monkeypatch)
    forced = time_to_accuracy(["keras_defaults", "sgd_1cycle"], target=0.99, seeds=1,
                              max_epochs=1, data=easy, batch_size=64,
                              recipe_kwargs={k: SMALL[k] for k in ("keras_defaults", "sgd_1cycle")})
    assert forced.settings["batch_sizes"] == {"keras_defaults": 64, "sgd_1cycle": 64}
    assert sorted(call[:2] for call in trained) == [("keras_defaults_recipe", 64),
                                                    ("sgd_1cycle_recipe", 64)]


def test_a_progress_that_is_not_callable_is_refused():
    with pytest.raises(TypeError, match="progress must be callable, got int 3"):
        time_to_accuracy(["naive"], target=0.5, progress=3,
                         data={"unit": None, "standard": None})


def test_cli_checks_the_json_directory_before_training(tmp_path, monkeypatch, capsys):
    from companion.lab import bench as bench_module

    def must_not_run(*args, **kwargs):
        raise AssertionError("trained before checking --json")

    monkeypatch.setattr(bench_module, "time_to_accuracy", must_not_run)
    missing = tmp_path / "no-such-folder" / "out.json"
    with pytest.raises(SystemExit) as info:
        main(["bench", "--seeds", "1", "--json", str(missing)])
    assert info.value.code == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert str(missing.parent) in err and "does not exist" in err


def test_cli_progress_bar_goes_to_stderr_and_not_stdout(tmp_path, monkeypatch, capsys):
    from companion.lab import bench as bench_module

    def fake(configs, *, progress, **kwargs):
        for done, name in enumerate(configs, 1):
            if progress is not None:  # --progress off passes none
                progress(done, len(configs), name, 0)
        runs = pd.DataFrame([{"configuration": name, "seed": 0, "reached": False,
                              "epochs": np.nan, "seconds": np.nan, "epochs_run": 1,
                              "seconds_run": 1.0, "epochs_counted": 1.0,
                              "seconds_counted": 1.0, "best_val_accuracy": 0.5}
                             for name in configs], columns=list(RUN_COLUMNS))
        return BenchResult(runs=runs, summary=summarize_runs(runs), target=0.9, max_epochs=1,
                           settings={"train_size": 64, "seeds": [0],
                                     "batch_sizes": {name: 32 for name in configs}})

    monkeypatch.setattr(bench_module, "time_to_accuracy", fake)
    assert main(["bench", "--configs", "keras_defaults", "sgd_1cycle", "--progress", "on"]) == 0
    out, err = capsys.readouterr()
    assert "sgd_1cycle" in err and "2/2" in err  # the bar, on standard error
    assert "\x1b" not in out and re.search(r"^sgd_1cycle\s+0/1\s+>=1", out, re.M), out
    assert main(["bench", "--configs", "keras_defaults", "--progress", "off"]) == 0
    assert capsys.readouterr().err == ""


def test_cli_first_seed_sets_the_seeds(monkeypatch, capsys):
    from companion.lab import bench as bench_module

    seen = {}

    def fake(configs, *, seeds, **kwargs):
        from companion.lab.seeding import seed_list
        seen["seeds"] = seed_list(seeds)
        raise ValueError("stop here")

    monkeypatch.setattr(bench_module, "time_to_accuracy", fake)
    with pytest.raises(SystemExit):
        main(["bench", "--seeds", "3", "--first-seed", "42", "--progress", "off"])
    assert seen["seeds"] == [42, 43, 44]


def test_data_scaled_otherwise_than_the_recipe_expects_is_refused():
    data = types.SimpleNamespace(**vars(_dataset(2)), scaling="unit")
    with pytest.raises(ValueError, match=re.escape(
            "data is scaled 'unit' but recipe 'self_normalizing' expects "
            "scaling='standard'")):
        run_once(self_normalizing_recipe, data, max_epochs=1, depth=1, width=4)


# --- the schedule's length: the recipe's own, capped at the run's ------------------------

def _laid_over(easy, trained, **kwargs):
    """The epochs the default's 1cycle was laid over in one run_once (steps / steps per epoch)."""
    recipe, _ = run_once(default_recipe, easy["standard"], depth=1, width=8, **kwargs)
    steps_per_epoch = -(-len(easy["standard"].x_train) // 128)
    total = recipe.model.optimizer._learning_rate.total_steps
    assert total % steps_per_epoch == 0
    # the recipe built is the one trained, for the whole run (the cap)
    assert trained[-1] == (recipe.model.name, 128, kwargs["max_epochs"], total)
    return total // steps_per_epoch, recipe.settings["schedule_epochs"]


def test_the_default_schedule_is_laid_over_the_recipes_own_epochs_capped_at_the_run(
        easy, monkeypatch):
    trained = _without_training(monkeypatch)  # the schedule is laid out before training
    assert recipe_defaults("default")["schedule_epochs"] == 8
    assert _laid_over(easy, trained, max_epochs=9) == (8, 8)  # its own 8, not the cap of 9
    assert _laid_over(easy, trained, max_epochs=3) == (3, 3)  # a shorter cap compresses it
    assert _laid_over(easy, trained, max_epochs=3, schedule_epochs=5) == (5, 5)  # told otherwise
    # a recipe without schedule_epochs of its own: over the whole run, as before
    recipe, _ = run_once(sgd_1cycle_recipe, easy["unit"], max_epochs=2, depth=1, width=8)
    assert recipe.model.optimizer._learning_rate.total_steps == 2 * -(-320 // 128)
    assert len(trained) == 4


def test_time_to_accuracy_records_each_schedule_length(easy, monkeypatch):
    trained = _without_training(monkeypatch)  # the schedule is laid out before training
    steps_per_epoch = -(-320 // 128)
    result = time_to_accuracy(["sgd_1cycle", "default"], target=0.99, seeds=1, max_epochs=9,
                              data=easy, recipe_kwargs={k: SMALL[k] for k in
                                                        ("sgd_1cycle", "default")})
    assert result.settings["schedule_epochs"] == {"sgd_1cycle": 9, "default": 8}
    # what is recorded is what the runs' schedules were laid over, each run the whole cap
    assert sorted(trained) == [("default_recipe", 128, 9, 8 * steps_per_epoch),
                               ("sgd_1cycle_recipe", 128, 9, 9 * steps_per_epoch)]
    told = time_to_accuracy(["default"], target=0.99, seeds=1, max_epochs=2, data=easy,
                            schedule_epochs={"default": 1},
                            recipe_kwargs={"default": SMALL["default"]})
    assert told.settings["schedule_epochs"] == {"default": 1}
    # one epoch of 3 steps: run_once lays a schedule over at least 2 steps
    assert trained[2:] == [("default_recipe", 128, 2, steps_per_epoch)]


def test_cli_schedule_epochs_reaches_the_benchmark_and_bad_pairs_are_refused(monkeypatch,
                                                                            capsys):
    from companion.lab import bench as bench_module

    seen = {}

    def fake(configs, *, schedule_epochs, **kwargs):
        seen["schedule_epochs"] = schedule_epochs
        raise ValueError("stop here")

    monkeypatch.setattr(bench_module, "time_to_accuracy", fake)
    with pytest.raises(SystemExit):
        main(["bench", "--schedule-epochs", "default=5", "sgd_1cycle=25", "--progress", "off"])
    assert seen["schedule_epochs"] == {"default": 5, "sgd_1cycle": 25}
    with pytest.raises(SystemExit):
        main(["bench", "--progress", "off"])
    assert seen["schedule_epochs"] is None  # each recipe's own, or the cap
    capsys.readouterr()
    for bad in ("default", "default=0", "=3", "default=2.5"):
        with pytest.raises(SystemExit) as info:
            main(["bench", "--schedule-epochs", bad, "--progress", "off"])
        assert info.value.code == 2
        assert f"--schedule-epochs {bad!r}: write NAME=EPOCHS" in capsys.readouterr().err


# --- repeating a recipe over seeds: one trace -------------------------------------------

def test_reuse_trains_a_kept_recipe_like_a_fresh_one(easy, monkeypatch):
    data = easy["standard"]
    settings = dict(max_epochs=2, depth=2, width=8, batch_norm="after")  # AdamW, 1cycle
    kept = {}
    first, _ = run_once(default_recipe, data, seed=1, reuse=kept, **settings)
    traced = first.model.train_function
    again, reused = run_once(default_recipe, data, seed=2, reuse=kept, **settings)
    assert again is first and len(kept) == 1 and again.model.train_function is traced
    # The reference: run_once's fresh path for the same seed, a recipe never trained and
    # its optimizer never stepped. Only the kept model's past, its moments, step count,
    # schedule position and BN statistics, could make the two differ.
    fresh, reference = run_once(default_recipe, data, seed=2, **settings)
    assert fresh is not first
    # same start and arithmetic: only float32 rounding may differ (rtol 1e-5 is far above
    # a few ulps amplified over the 6 steps of a small net)
    np.testing.assert_allclose(reused.history[["loss", "val_loss"]].to_numpy(),
                               reference.history[["loss", "val_loss"]].to_numpy(), rtol=1e-5)
    for mine, theirs in zip(reused.model.get_weights(), reference.model.get_weights(),
                            strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    # which recipe is kept is decided before training: this run need not train
    trained = _without_training(monkeypatch)
    other, _ = run_once(default_recipe, data, seed=2, reuse=kept, **{**settings, "width": 9})
    assert other is not first and len(kept) == 2  # other arguments: another recipe
    assert [call[0] for call in trained] == [other.model.name]

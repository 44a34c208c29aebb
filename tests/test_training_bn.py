import math

import pandas as pd
import pytest

from companion.training import TrainingResult, target_table


def run(accuracies, seconds):
    history = pd.DataFrame({"val_accuracy": accuracies, "seconds": seconds},
                           index=pd.RangeIndex(1, len(accuracies) + 1, name="epoch"))
    return TrainingResult(model=None, history=history, test={})


def test_target_table_counts_epochs_and_medians_seconds():
    table = target_table({
        "fast": [run([0.5, 0.8, 0.9], [9.0, 2.0, 2.2]),
                 run([0.85, 0.9, 0.9], [8.0, 2.4, 2.6])],
        "slow": run([0.1, 0.2, 0.3, 0.5], [5.0, 1.0, 1.1, 1.2])}, 0.8)
    fast, slow = table.loc["fast"], table.loc["slow"]
    assert fast["runs"] == 2 and fast["reached"] == 2
    assert fast["epochs_to_target"] == 1.5           # median of 2 and 1
    assert fast["seconds_per_epoch"] == pytest.approx(2.3)  # median of 2, 2.2, 2.4, 2.6
    assert fast["max_epochs"] == 3
    assert slow["reached"] == 0 and math.isinf(slow["epochs_to_target"])
    assert slow["seconds_per_epoch"] == pytest.approx(1.1)   # first epoch left out
    assert slow["max_epochs"] == 4


def test_target_table_median_over_seeds_counts_unreached_as_infinite():
    table = target_table({"mixed": [run([0.9, 0.9], [1, 1]), run([0.1, 0.9], [1, 1]),
                                    run([0.1, 0.1], [1, 1])]}, 0.8)
    assert table.loc["mixed", "epochs_to_target"] == 2.0  # median of 1, 2, inf
    assert table.loc["mixed", "reached"] == 2


def test_target_table_skip_first_false_and_min_mode():
    table = target_table({"a": run([0.5, 0.3], [4.0, 1.0])}, 0.4, mode="min",
                         skip_first=False)
    assert table.loc["a", "epochs_to_target"] == 2.0
    assert table.loc["a", "seconds_per_epoch"] == pytest.approx(2.5)


@pytest.mark.parametrize("results, match", [
    ({}, "results is empty"),
    ({"x": []}, r"results\['x'\] must be"),
    ({"x": ["not a result"]}, r"results\['x'\] must be"),
    ({"x": run([0.9], [1.0])}, "no epoch left to time"),
])
def test_target_table_rejects_bad_input(results, match):
    with pytest.raises(ValueError, match=match):
        target_table(results, 0.5)


def test_target_table_rejects_unknown_monitor():
    with pytest.raises(ValueError, match="unknown monitor 'val_auc'"):
        target_table({"a": run([0.5, 0.6], [1, 1])}, 0.5, monitor="val_auc")


def test_epoch_seconds_times_each_model_once_per_round(tiny_data):
    import keras

    from companion import build_mlp, train
    from companion.training import epoch_seconds

    models = {}
    for name in ("a", "b"):
        models[name] = build_mlp(depth=1, width=8, example_shape=(8,), n_classes=3)
        train(models[name], tiny_data, epochs=1, evaluate=False)
    before = models["a"].get_layer("hidden_1").kernel.numpy().copy()
    timings = epoch_seconds(models, tiny_data, rounds=2)
    assert set(timings) == {"a", "b"}
    assert all(len(t.runs) == 2 and min(t.runs) > 0 for t in timings.values())
    after = models["a"].get_layer("hidden_1").kernel.numpy()
    assert abs(after - before).max() > 0  # the models went on training
    with pytest.raises(ValueError, match="rounds must be an integer >= 1"):
        epoch_seconds(models, tiny_data, rounds=0)
    with pytest.raises(ValueError, match=r"models\['c'\] must be a compiled"):
        epoch_seconds({"c": keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)])},
                      tiny_data)
    with pytest.raises(ValueError, match="models is empty"):
        epoch_seconds({}, tiny_data)

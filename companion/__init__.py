"""Companion package of the course "Training Deep Neural Networks".

Every chapter starts with::

    import companion as cp
    cp.setup(seed=42)

and then calls the functions below; see the introduction for a tour. The package has
three layers, each importing only from those below it:

* :mod:`companion.tools`: reusable tools that depend on Keras and NumPy only (layers,
  callbacks, schedules and the range test, optimizers, BN folding, uncertainty,
  calibration, diagnostics, timing, argument checks);
* :mod:`companion.lab`: the course's experiments on Fashion-MNIST (data, models, the one
  fit path, seeds, sweeps, recipes, the benchmark);
* :mod:`companion.book`: what serves the pages (set-up, profiles, claims, glue, style,
  figures).

Every name is also available flat, as ``cp.<name>``. A flat name imports its module at
first use, so ``import companion`` itself is instant and imports no TensorFlow: tools
that never train (the pytest plugin, the reader-notebook converter) start in a fraction
of a second instead of five. Importing it first still matters: it makes TensorFlow's
first import quiet, whoever asks for it (see :mod:`companion._quiet`).
"""

import importlib as _importlib
import pkgutil as _pkgutil

from companion import _quiet  # first: TensorFlow's import is then quiet

# The modules whose layers, schedules and optimizers Keras must know to load a saved
# model: imported with Keras, as when this package imported every module at once.
_quiet.register_with_keras("companion.tools.layers", "companion.tools.schedules")

# Where each flat name lives.
_EXPORTS = {
    "companion.tools.calibration": (
        "calibration_summary", "expected_calibration_error", "negative_log_likelihood",
        "reliability_data"),
    "companion.tools.callbacks": ("EpochTimer", "StopAtTarget"),
    "companion.tools.checks": (
        "check_array", "check_choice", "check_int", "check_model", "check_real"),
    "companion.tools.clipping": ("clip_with_optimizer", "cosine_similarity"),
    "companion.tools.diagnostics": (
        "dead_units", "gradient_norms", "kernel_snapshot", "layer_outputs", "layer_report",
        "layer_statistics", "relative_updates", "RelativeUpdateRecorder", "saturated_units",
        "unit_spread"),
    "companion.tools.folding": ("batch_norm_affine", "count_batch_norm", "fold_batch_norm"),
    "companion.tools.layers": ("MCAlphaDropout", "MCDropout", "reinitialize", "RReLU"),
    "companion.tools.monitor": ("TrainingMonitor",),
    "companion.tools.optim": (
        "agreement_table", "compare_with_keras", "decay_versus_l2", "distance_to_minimum",
        "ill_conditioned_quadratic", "Landscape", "rosenbrock", "trajectory"),
    "companion.tools.optimizers": ("make_optimizer", "optimizer_names"),
    "companion.tools.schedules": (
        "cycle_momentum", "lr_range_test", "OneCycleSchedule", "RangeTestResult",
        "schedule_values"),
    "companion.tools.timing": (
        "inference_time", "interleaved_inference_time", "interleaved_times", "time_call",
        "Timing"),
    "companion.tools.uncertainty": ("mc_dropout_model", "mc_predict", "mc_samples"),
    "companion.lab.activations": (
        "activation_and_derivative", "activation_functions", "activation_latency",
        "activation_mlp", "ACTIVATIONS", "first_normalized_layer", "learned_slopes",
        "normalization_error", "pair_agreement", "ranking", "selu_constants", "selu_stack",
        "signal_moments"),
    "companion.lab.bench": (
        "BenchResult", "run_once", "summarize_runs", "time_to_accuracy"),
    "companion.lab.data": (
        "DataError", "DataWarning", "FashionMNIST", "load_fashion_mnist", "split_task_a_b"),
    "companion.lab.initialization": (
        "depth_sweep", "initializer_spec", "named_initializers", "summarize_sweep",
        "TRUNCATION_STD", "unit_differences", "variance_check", "variance_table"),
    "companion.lab.models": ("build_autoencoder", "build_mlp"),
    "companion.lab.recipes": (
        "default_recipe", "keras_defaults_recipe", "naive_recipe", "Recipe", "recipe_table",
        "RECIPES", "self_normalizing_recipe", "sgd_1cycle_recipe"),
    "companion.lab.seeding": ("course_seed", "derive_seeds", "reseed"),
    "companion.lab.seeds": (
        "paired_differences", "run_seeds", "seed_range_reading", "seed_summary", "summarize",
        "verdict"),
    "companion.lab.sweeps": ("bake_off",),
    "companion.lab.training": (
        "compare", "compile_model", "epoch_seconds", "EVALUATION_BATCH_SIZE",
        "STEPS_PER_EXECUTION", "target_table", "train", "TrainingResult"),
    "companion.lab.transfer": (
        "clone_with_weights", "fine_tune", "FineTuner", "max_weight_change", "replace_head",
        "rotation_task", "set_trainable", "trainable_table"),
    "companion.book.claims": ("Claim", "claim", "ClaimError"),
    "companion.book.plots": (
        "plot_activation_grid", "plot_activation_histograms", "plot_activations",
        "plot_bake_off", "plot_clipped_gradients", "plot_histories", "plot_image_grid",
        "plot_layer_profiles", "plot_learning_curves", "plot_lr_range_test",
        "plot_relative_updates", "plot_reliability", "plot_schedules", "plot_seed_points",
        "plot_self_normalization", "plot_std_heatmap", "plot_std_ratios",
        "plot_time_to_accuracy", "plot_trajectories", "plot_uncertain_examples"),
    "companion.book.profiles": ("profile",),
    "companion.book.publish": ("glue", "glue_values"),
    "companion.book.runtime": ("setup", "strategy"),
}
_RENAMED = {"NAMED_INITIALIZERS": ("companion.lab.initialization", "NAMED")}
_WHERE = {name: (module, name) for module, names in _EXPORTS.items() for name in names}
_WHERE.update(_RENAMED)

__version__ = "0.1.0"

__all__ = sorted(_WHERE, key=str.lower)
_LAYERS = ("tools", "lab", "book")  # the subpackages: cp.tools.layers and the like


def __getattr__(name):
    """``cp.<name>``: import the name's module at first use, then keep the name here."""
    if name in _LAYERS:  # with all its modules, as when the package imported everything
        layer = _importlib.import_module(f"companion.{name}")
        for module in _pkgutil.iter_modules(layer.__path__):
            _importlib.import_module(f"{layer.__name__}.{module.name}")
        return layer
    try:
        module, attribute = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module 'companion' has no attribute {name!r}") from None
    value = getattr(_importlib.import_module(module), attribute)
    globals()[name] = value  # later look-ups do not come back here
    return value


def __dir__():
    dunders = {name for name in globals() if name.startswith("__")}
    return sorted(dunders | set(__all__) | set(_LAYERS))

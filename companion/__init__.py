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

Every name is also available flat, as ``cp.<name>``.
"""

from companion import _quiet  # noqa: F401  (first: imports TensorFlow quietly)
from companion.tools.calibration import (
    calibration_summary, expected_calibration_error, negative_log_likelihood,
    reliability_data)
from companion.tools.callbacks import EpochTimer, StopAtTarget
from companion.tools.checks import (
    check_array, check_choice, check_int, check_model, check_real)
from companion.tools.clipping import clip_with_optimizer, cosine_similarity
from companion.tools.diagnostics import (
    dead_units, gradient_norms, kernel_snapshot, layer_outputs, layer_report,
    layer_statistics, relative_updates, RelativeUpdateRecorder, saturated_units,
    unit_spread)
from companion.tools.folding import batch_norm_affine, count_batch_norm, fold_batch_norm
from companion.tools.layers import MCAlphaDropout, MCDropout, reinitialize, RReLU
from companion.tools.monitor import TrainingMonitor
from companion.tools.optim import (
    agreement_table, compare_with_keras, decay_versus_l2, distance_to_minimum,
    ill_conditioned_quadratic, Landscape, rosenbrock, trajectory)
from companion.tools.optimizers import make_optimizer, optimizer_names
from companion.tools.schedules import (
    cycle_momentum, lr_range_test, OneCycleSchedule, RangeTestResult, schedule_values)
from companion.tools.timing import (
    inference_time, interleaved_inference_time, interleaved_times, time_call, Timing)
from companion.tools.uncertainty import mc_dropout_model, mc_predict, mc_samples
from companion.lab.activations import (
    activation_and_derivative, activation_functions, activation_latency, activation_mlp,
    ACTIVATIONS, first_normalized_layer, learned_slopes, normalization_error,
    pair_agreement, ranking, selu_constants, selu_stack, signal_moments)
from companion.lab.bench import BenchResult, run_once, summarize_runs, time_to_accuracy
from companion.lab.data import (
    DataError, DataWarning, FashionMNIST, load_fashion_mnist, split_task_a_b)
from companion.lab.initialization import (
    depth_sweep, initializer_spec, named_initializers, summarize_sweep, TRUNCATION_STD,
    unit_differences, variance_check, variance_table)
from companion.lab.models import build_autoencoder, build_mlp
from companion.lab.recipes import (
    default_recipe, keras_defaults_recipe, naive_recipe, Recipe, recipe_table, RECIPES,
    self_normalizing_recipe, sgd_1cycle_recipe)
from companion.lab.seeding import course_seed, derive_seeds, reseed
from companion.lab.seeds import paired_differences, run_seeds, seed_summary, summarize, verdict
from companion.lab.sweeps import bake_off
from companion.lab.training import (
    compare, compile_model, epoch_seconds, STEPS_PER_EXECUTION, target_table, train,
    TrainingResult)
from companion.lab.transfer import (
    clone_with_weights, fine_tune, max_weight_change, replace_head, rotation_task,
    set_trainable, trainable_table)
from companion.book.claims import Claim, claim, ClaimError
from companion.book.plots import (
    plot_activation_grid, plot_activation_histograms, plot_activations, plot_bake_off,
    plot_clipped_gradients, plot_histories, plot_image_grid, plot_layer_profiles,
    plot_learning_curves, plot_lr_range_test, plot_relative_updates, plot_reliability,
    plot_schedules, plot_seed_points, plot_self_normalization, plot_std_heatmap,
    plot_std_ratios, plot_time_to_accuracy, plot_trajectories, plot_uncertain_examples)
from companion.book.profiles import profile
from companion.book.publish import glue, glue_values
from companion.book.runtime import setup, strategy
from companion.lab.initialization import NAMED as NAMED_INITIALIZERS

__version__ = "0.1.0"

__all__ = [
    "activation_and_derivative", "activation_functions", "activation_latency",
    "activation_mlp", "ACTIVATIONS", "agreement_table", "bake_off", "batch_norm_affine",
    "BenchResult", "build_autoencoder", "build_mlp", "calibration_summary", "check_array",
    "check_choice", "check_int", "check_model", "check_real", "Claim", "claim", "ClaimError",
    "clip_with_optimizer", "clone_with_weights", "compare", "compare_with_keras", "compile_model",
    "cosine_similarity", "count_batch_norm", "course_seed", "cycle_momentum", "DataError",
    "DataWarning",
    "dead_units", "decay_versus_l2", "default_recipe", "depth_sweep", "derive_seeds",
    "distance_to_minimum", "epoch_seconds", "EpochTimer", "expected_calibration_error",
    "FashionMNIST", "fine_tune", "first_normalized_layer", "fold_batch_norm", "glue",
    "glue_values", "gradient_norms", "ill_conditioned_quadratic", "inference_time",
    "initializer_spec", "interleaved_inference_time", "interleaved_times", "kernel_snapshot",
    "Landscape", "layer_outputs", "layer_report", "layer_statistics", "learned_slopes",
    "load_fashion_mnist", "lr_range_test", "make_optimizer", "max_weight_change",
    "mc_dropout_model", "mc_predict", "mc_samples", "MCAlphaDropout", "MCDropout",
    "keras_defaults_recipe", "naive_recipe", "named_initializers", "NAMED_INITIALIZERS", "negative_log_likelihood",
    "normalization_error", "OneCycleSchedule", "optimizer_names", "pair_agreement",
    "paired_differences", "plot_activation_grid", "plot_activation_histograms",
    "plot_activations", "plot_bake_off", "plot_clipped_gradients", "plot_histories",
    "plot_image_grid", "plot_layer_profiles", "plot_learning_curves", "plot_lr_range_test",
    "plot_relative_updates", "plot_reliability", "plot_schedules", "plot_seed_points",
    "plot_self_normalization", "plot_std_heatmap", "plot_std_ratios", "plot_time_to_accuracy",
    "plot_trajectories", "plot_uncertain_examples", "profile", "RangeTestResult", "ranking",
    "Recipe", "recipe_table", "RECIPES", "relative_updates", "RelativeUpdateRecorder",
    "reinitialize", "reliability_data", "replace_head", "reseed", "rosenbrock", "rotation_task", "RReLU",
    "run_once", "run_seeds", "saturated_units", "schedule_values", "seed_summary",
    "self_normalizing_recipe", "selu_constants", "sgd_1cycle_recipe", "selu_stack", "set_trainable", "setup",
    "signal_moments", "split_task_a_b", "STEPS_PER_EXECUTION", "StopAtTarget", "strategy",
    "summarize", "summarize_runs", "summarize_sweep", "target_table", "time_call",
    "time_to_accuracy", "Timing", "train", "TrainingMonitor", "trainable_table",
    "TrainingResult", "trajectory",
    "TRUNCATION_STD", "unit_differences", "unit_spread", "variance_check", "variance_table", "verdict"
]

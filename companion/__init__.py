"""Companion package of the course "Training Deep Neural Networks".

Every chapter starts with::

    import companion as cp
    cp.setup(seed=42)

and then calls the functions below; see the introduction for a tour.
"""

from companion import _quiet  # noqa: F401  (first: imports TensorFlow quietly)
from companion.activations import (activation_functions, activation_latency, activation_mlp,
                                   first_normalized_layer, learned_slopes, normalization_error,
                                   pair_agreement, ranking, selu_constants, selu_stack,
                                   signal_moments)
from companion.bench import BenchResult, summarize_runs, time_to_accuracy
from companion.calibration import (calibration_summary, expected_calibration_error,
                                   negative_log_likelihood, reliability_data)
from companion.claims import Claim, claim, ClaimError
from companion.clipping import clip_with_optimizer, cosine_similarity
from companion.data import DataError, FashionMNIST, load_fashion_mnist, split_task_a_b
from companion.diagnostics import (dead_units, gradient_norms, kernel_snapshot, layer_outputs,
                                   layer_report, layer_statistics, relative_updates,
                                   RelativeUpdateRecorder, saturated_units)
from companion.folding import (batch_norm_affine, count_batch_norm, fold_batch_norm,
                               interleaved_inference_time)
from companion.initialization import (depth_sweep, initializer_spec, named_initializers,
                                      summarize_sweep, unit_differences, variance_check,
                                      variance_table)
from companion.layers import MCAlphaDropout, MCDropout, RReLU
from companion.models import build_autoencoder, build_mlp
from companion.optim import (agreement_table, bake_off, compare_with_keras, decay_versus_l2,
                             distance_to_minimum, ill_conditioned_quadratic, Landscape, rosenbrock,
                             trajectory)
from companion.plots import (plot_activation_grid, plot_activation_histograms, plot_activations,
                             plot_bake_off, plot_clipped_gradients, plot_histories,
                             plot_image_grid, plot_layer_profiles, plot_learning_curves,
                             plot_lr_range_test, plot_relative_updates, plot_reliability,
                             plot_schedules, plot_seed_points, plot_self_normalization,
                             plot_std_heatmap, plot_std_ratios, plot_time_to_accuracy,
                             plot_trajectories, plot_uncertain_examples)
from companion.profiles import profile
from companion.publish import glue, glue_values
from companion.recipes import (default_recipe, naive_recipe, Recipe, recipe_table, RECIPES,
                               self_normalizing_recipe)
from companion.runtime import setup, strategy
from companion.schedules import (cycle_momentum, lr_range_test, OneCycleSchedule, RangeTestResult,
                                 schedule_values)
from companion.seeds import paired_differences, run_seeds, seed_summary, summarize, verdict
from companion.timing import inference_time, time_call, Timing
from companion.tools.monitor import TrainingMonitor
from companion.training import (compare, epoch_seconds, StopAtTarget, target_table, train,
                                TrainingResult)
from companion.transfer import (clone_with_weights, fine_tune, max_weight_change, replace_head,
                                rotation_task, set_trainable, trainable_table)
from companion.uncertainty import mc_dropout_model, mc_predict, mc_samples

__version__ = "0.1.0"

__all__ = [
    "activation_functions", "activation_latency", "activation_mlp", "agreement_table", "bake_off",
    "batch_norm_affine", "BenchResult", "build_autoencoder", "build_mlp", "calibration_summary",
    "Claim", "claim", "ClaimError", "clip_with_optimizer", "clone_with_weights", "compare",
    "compare_with_keras", "cosine_similarity", "count_batch_norm", "cycle_momentum", "DataError",
    "dead_units", "decay_versus_l2", "default_recipe", "depth_sweep", "distance_to_minimum",
    "epoch_seconds", "expected_calibration_error", "FashionMNIST", "fine_tune",
    "first_normalized_layer", "fold_batch_norm", "glue", "glue_values", "gradient_norms",
    "ill_conditioned_quadratic", "inference_time", "initializer_spec",
    "interleaved_inference_time", "kernel_snapshot", "Landscape", "layer_outputs", "layer_report",
    "layer_statistics", "learned_slopes", "load_fashion_mnist", "lr_range_test",
    "max_weight_change", "mc_dropout_model", "mc_predict", "mc_samples", "MCAlphaDropout",
    "MCDropout", "naive_recipe", "named_initializers", "negative_log_likelihood",
    "normalization_error", "OneCycleSchedule", "pair_agreement", "paired_differences",
    "plot_activation_grid", "plot_activation_histograms", "plot_activations", "plot_bake_off",
    "plot_clipped_gradients", "plot_histories", "plot_image_grid", "plot_layer_profiles",
    "plot_learning_curves", "plot_lr_range_test", "plot_relative_updates", "plot_reliability",
    "plot_schedules", "plot_seed_points", "plot_self_normalization", "plot_std_heatmap",
    "plot_std_ratios", "plot_time_to_accuracy", "plot_trajectories", "plot_uncertain_examples",
    "profile", "RangeTestResult", "ranking", "Recipe", "recipe_table", "RECIPES",
    "relative_updates", "RelativeUpdateRecorder", "reliability_data", "replace_head", "rosenbrock",
    "rotation_task", "RReLU", "run_seeds", "saturated_units", "schedule_values", "seed_summary",
    "self_normalizing_recipe", "selu_constants", "selu_stack", "set_trainable", "setup",
    "signal_moments", "split_task_a_b", "StopAtTarget", "strategy", "summarize", "summarize_runs",
    "summarize_sweep", "target_table", "time_call", "time_to_accuracy", "Timing", "train",
    "trainable_table", "TrainingMonitor", "TrainingResult", "trajectory", "unit_differences",
    "variance_check", "variance_table", "verdict",
]

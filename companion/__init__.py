"""Companion package of the course "Training Deep Neural Networks".

Every chapter starts with::

    import companion as cp
    cp.setup(seed=42)

and then calls the functions below; see the introduction for a tour.
"""

from companion import _quiet  # noqa: F401  (first: imports TensorFlow quietly)
from companion.claims import Claim, ClaimError, claim
from companion.data import DataError, FashionMNIST, load_fashion_mnist
from companion.diagnostics import (RelativeUpdateRecorder, gradient_norms, kernel_snapshot,
                                   layer_outputs, layer_report, layer_statistics,
                                   relative_updates)
from companion.initialization import (depth_sweep, initializer_spec, named_initializers,
                                      summarize_sweep, unit_differences, variance_check,
                                      variance_table)
from companion.models import build_mlp
from companion.plots import (plot_activation_histograms, plot_activations, plot_histories,
                             plot_layer_profiles, plot_relative_updates, plot_std_heatmap,
                             plot_std_ratios)
from companion.profiles import profile
from companion.publish import glue, glue_values
from companion.runtime import setup, strategy
from companion.plots import plot_lr_range_test, plot_schedules
from companion.schedules import (OneCycleSchedule, RangeTestResult, cycle_momentum,
                                 lr_range_test, schedule_values)
from companion.training import StopAtTarget, TrainingResult, compare, train

from companion.timing import Timing, inference_time, time_call

__version__ = "0.1.0"

__all__ = [
    "Claim", "ClaimError", "DataError", "FashionMNIST", "RelativeUpdateRecorder",
    "TrainingResult", "build_mlp", "claim", "compare", "glue", "glue_values",
    "gradient_norms",
    "kernel_snapshot", "layer_outputs", "layer_report", "layer_statistics", "load_fashion_mnist",
    "plot_activation_histograms", "plot_activations", "plot_histories",
    "plot_layer_profiles", "plot_relative_updates", "profile", "relative_updates",
    "StopAtTarget", "Timing", "inference_time", "setup", "strategy", "time_call", "train",
    # chapter 2: weight initialisation
    "depth_sweep", "initializer_spec", "named_initializers", "plot_std_heatmap",
    "plot_std_ratios", "summarize_sweep", "unit_differences", "variance_check",
    "variance_table",
    # chapter 7: learning-rate scheduling
    "OneCycleSchedule", "RangeTestResult", "cycle_momentum", "lr_range_test",
    "plot_lr_range_test", "plot_schedules", "schedule_values",
]

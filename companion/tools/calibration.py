"""Calibration: do the predicted probabilities mean what they say?

A classifier is *calibrated* when, among the examples it predicts with
confidence 0.8, about 80% are right. The tools here take predicted class
probabilities (one row per example, summing to 1) and the true labels:

* :func:`reliability_data` sorts the examples into equal-width bins of
  confidence (the largest probability of a row) and gives each bin's mean
  confidence and accuracy, the data of a reliability diagram;
* :func:`expected_calibration_error` is the mean gap between the two, each bin
  weighted by the fraction of examples in it (Naeini et al., 2015; Guo et al.,
  2017);
* :func:`negative_log_likelihood` is the mean of ``-log p(true class)``.
"""

import numpy as np
import pandas as pd

from companion.tools.checks import check_array, check_int

DEFAULT_BINS = 15
SUM_TOLERANCE = 1e-3  # float32 softmax rows sum to 1 within ~1e-6; averages too
NLL_FLOOR = 1e-12


def check_probabilities(probabilities, labels):
    """Validate and return ``(probabilities, labels)`` as float64 and int64 arrays.

    Raises:
        ValueError: unless ``probabilities`` is a non-empty 2-D array of values
            in [0, 1] whose rows sum to 1 (within ``1e-3``), and ``labels`` holds
            one integer class index in ``[0, n_classes)`` per row.

    Example:
        >>> p, y = check_probabilities([[0.2, 0.8]], [1])
        >>> p.dtype, y.tolist()
        (dtype('float64'), [1])
    """
    p = check_array("probabilities", probabilities, min_size=0, finite=False)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] < 2:
        raise ValueError("probabilities must be a 2-D array (examples, classes) with at "
                         f"least one example and two classes, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise ValueError("probabilities must be finite values in [0, 1], got values in "
                         f"[{np.nanmin(p):.3g}, {np.nanmax(p):.3g}]")
    sums = p.sum(axis=1)
    worst = int(np.argmax(np.abs(sums - 1)))
    if abs(sums[worst] - 1) > SUM_TOLERANCE:
        raise ValueError(f"every row of probabilities must sum to 1 (within "
                         f"{SUM_TOLERANCE:g}); row {worst} sums to {sums[worst]:.6g}")
    y = check_array("labels", labels, min_size=0, finite=False, dtype=None)
    if y.shape != (p.shape[0],):
        raise ValueError(f"labels must hold one label per row of probabilities "
                         f"({p.shape[0]}), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.number) or not np.all(np.isfinite(y)) \
                or np.any(y != np.round(y)):
            raise ValueError(f"labels must be integer class indices, got dtype {y.dtype}")
    y = y.astype(np.int64)
    bad = (y < 0) | (y >= p.shape[1])
    if bad.any():
        raise ValueError(f"labels holds {y[bad][0]}, out of range: valid class indices are 0 "
                         f"to {p.shape[1] - 1}")
    return p, y


def reliability_data(probabilities, labels, *, n_bins=DEFAULT_BINS):
    """Per-bin confidence and accuracy: the data of a reliability diagram.

    The confidence of an example is its largest predicted probability, the
    prediction the class that has it (the first one on ties). Bin ``b`` (from 0)
    holds the confidences in ``(b/n_bins, (b+1)/n_bins]``; a confidence of
    exactly 0 goes into bin 0.

    Args:
        probabilities: array ``(examples, classes)``, rows summing to 1.
        labels: the true class of each example.
        n_bins: number of equal-width bins on [0, 1].

    Returns:
        A DataFrame with one row per bin and the columns ``lower``, ``upper``, ``count``,
        ``confidence`` (mean confidence in the bin), ``accuracy`` (fraction
        right) and ``gap`` (accuracy minus confidence); the last three are NaN
        for an empty bin.

    Example:
        >>> table = reliability_data([[0.9, 0.1], [0.3, 0.7]], [0, 0], n_bins=2)
        >>> table[["count", "confidence", "accuracy"]].values.tolist()
        [[0.0, nan, nan], [2.0, 0.8, 0.5]]
    """
    p, y = check_probabilities(probabilities, labels)
    n_bins = check_int("n_bins", n_bins, minimum=1)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    # Floating point can put a value that equals an edge on the wrong side; settle by edges.
    index = np.where(confidence > edges[index + 1], index + 1, index)
    index = np.where((index > 0) & (confidence <= edges[index]), index - 1, index)
    count = np.bincount(index, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, confidence, n_bins) / count
        accuracy = np.bincount(index, correct, n_bins) / count
    table = pd.DataFrame({"lower": edges[:-1], "upper": edges[1:], "count": count,
                          "confidence": mean_confidence, "accuracy": accuracy})
    table["gap"] = table["accuracy"] - table["confidence"]
    table.index.name = "bin"
    return table


def expected_calibration_error(probabilities, labels, *, n_bins=DEFAULT_BINS):
    """Expected calibration error: the count-weighted mean of ``|accuracy - confidence|``.

    With the bins of :func:`reliability_data` (``n_bins`` equal-width bins of
    confidence on [0, 1], 15 by default), ``ECE = sum_b (n_b / n) |acc_b -
    conf_b|``, where ``n_b`` is the number of examples in bin ``b``. Empty bins
    contribute nothing. It is 0 for a perfectly calibrated model and at most 1.

    Example:
        >>> round(expected_calibration_error([[0.9, 0.1], [0.3, 0.7]], [0, 0],
        ...                                   n_bins=2), 6)
        0.3
    """
    table = reliability_data(probabilities, labels, n_bins=n_bins)
    full = table[table["count"] > 0]
    weights = full["count"] / full["count"].sum()
    return float((weights * full["gap"].abs()).sum())


def negative_log_likelihood(probabilities, labels):
    """Mean negative log-probability of the true class, in nats.

    This is the cross-entropy loss the network was trained on, computed from
    the probabilities. Probabilities are floored at ``1e-12``, so one
    confidently wrong example costs at most ``-log(1e-12) ~ 27.6`` nats.

    Example:
        >>> round(negative_log_likelihood([[0.5, 0.5], [0.2, 0.8]], [0, 1]), 4)
        0.4581
    """
    p, y = check_probabilities(probabilities, labels)
    true = p[np.arange(len(y)), y]
    return float(-np.mean(np.log(np.maximum(true, NLL_FLOOR))))


def calibration_summary(probabilities, labels, *, n_bins=DEFAULT_BINS):
    """Accuracy, negative log-likelihood and ECE of one set of predictions.

    Returns:
        ``{"accuracy": ..., "nll": ..., "ece": ...}`` (accuracy of the argmax).

    Example:
        >>> calibration_summary([[0.9, 0.1], [0.3, 0.7]], [0, 0], n_bins=2)["accuracy"]
        0.5
    """
    p, y = check_probabilities(probabilities, labels)
    return {"accuracy": float(np.mean(p.argmax(axis=1) == y)),
            "nll": negative_log_likelihood(p, y),
            "ece": expected_calibration_error(p, y, n_bins=n_bins)}

"""Gradient clipping as Keras optimizers do it, applied to a gradient you can inspect."""

import numpy as np

from companion._quiet import keras, tf

CLIP_OPTIONS = ("clipvalue", "clipnorm", "global_clipnorm")


def clip_with_optimizer(gradients, *, clipvalue=None, clipnorm=None, global_clipnorm=None):
    """Clip ``gradients`` exactly as a Keras optimizer with these options does.

    The clipping is not reimplemented: a plain ``keras.optimizers.SGD`` with
    ``learning_rate=1`` and the given option applies ``gradients`` to
    variables that start at zero, and the clipped gradient is read back as
    minus the variables' new values. Give exactly one option:

    * ``clipvalue``: every component is clipped to ``[-clipvalue, clipvalue]``;
    * ``clipnorm``: each gradient tensor whose L2 norm exceeds ``clipnorm`` is
      rescaled to that norm (tensor by tensor);
    * ``global_clipnorm``: all tensors are rescaled together when their joint
      L2 norm exceeds ``global_clipnorm``.

    Args:
        gradients: one array, or a list of arrays (one per variable).

    Returns:
        The clipped gradient(s), float32 NumPy arrays, in the same structure.

    Example:
        >>> clip_with_optimizer(np.array([0.9, -0.1]), clipvalue=0.5).tolist()
        [0.5, -0.10000000149011612]
        >>> [round(float(g), 3) for g in clip_with_optimizer(np.array([3.0, 4.0]), clipnorm=1.0)]
        [0.6, 0.8]
    """
    options = {"clipvalue": clipvalue, "clipnorm": clipnorm,
               "global_clipnorm": global_clipnorm}
    given = {name: value for name, value in options.items() if value is not None}
    if len(given) != 1:
        raise ValueError(f"give exactly one of {list(CLIP_OPTIONS)}, got "
                         f"{sorted(given) or 'none'}")
    (name, value), = given.items()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    single = not isinstance(gradients, (list, tuple))
    arrays = [np.asarray(g, dtype=np.float32) for g in ([gradients] if single else gradients)]
    if not arrays or any(a.size == 0 for a in arrays):
        raise ValueError("gradients must hold at least one non-empty array")
    variables = [keras.Variable(np.zeros_like(a)) for a in arrays]
    optimizer = keras.optimizers.SGD(learning_rate=1.0, **given)
    optimizer.apply_gradients([(tf.constant(a), v) for a, v in zip(arrays, variables)])
    clipped = [-np.asarray(v) for v in variables]
    return clipped[0] if single else clipped


def cosine_similarity(a, b):
    """Cosine of the angle between two gradients (arrays or lists of arrays), in float64.

    Example:
        >>> cosine_similarity(np.array([1.0, 0.0]), np.array([1.0, 1.0])).round(4)
        np.float64(0.7071)
    """
    def flat(g):
        parts = g if isinstance(g, (list, tuple)) else [g]
        return np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for p in parts])

    a, b = flat(a), flat(b)
    if a.shape != b.shape:
        raise ValueError(f"the gradients differ in size: {a.size} and {b.size}")
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        raise ValueError("the cosine of a zero gradient is undefined")
    return np.clip(a @ b / norms, -1.0, 1.0)

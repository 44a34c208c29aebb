"""Gradient clipping as Keras optimizers do it, applied to a gradient you can inspect."""

import numpy as np

from companion._quiet import keras, tf
from companion.tools.checks import check_array, check_real

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
    value = check_real(name, value, low=0, closed="neither")
    single = not isinstance(gradients, (list, tuple))
    if single:
        arrays = [check_array("gradients", gradients, dtype=np.float32, finite=False)]
    else:
        arrays = [check_array(f"gradients[{i}]", g, dtype=np.float32, finite=False)
                  for i, g in enumerate(gradients)]
    if not arrays:
        raise ValueError("gradients must hold at least one non-empty array, got an empty list")
    variables = [keras.Variable(np.zeros_like(a)) for a in arrays]
    optimizer = keras.optimizers.SGD(learning_rate=1.0, **{name: value})
    optimizer.apply_gradients([(tf.constant(a), v) for a, v in zip(arrays, variables)])
    clipped = [-np.asarray(v) for v in variables]
    return clipped[0] if single else clipped


def cosine_similarity(a, b):
    """Cosine of the angle between two gradients (arrays or lists of arrays), in float64.

    Example:
        >>> cosine_similarity(np.array([1.0, 0.0]), np.array([1.0, 1.0])).round(4)
        np.float64(0.7071)
    """
    def flat(name, g):
        parts = g if isinstance(g, (list, tuple)) else [g]
        if not parts:
            raise ValueError(f"{name} must hold at least one array, got an empty list")
        return np.concatenate([np.ravel(check_array(name, p)) for p in parts])

    a, b = flat("a", a), flat("b", b)
    if a.shape != b.shape:
        raise ValueError(f"a and b differ in size: {a.size} and {b.size} values")
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        raise ValueError(f"{'a' if not np.linalg.norm(a) else 'b'} is zero: the cosine of a "
                         "zero gradient is undefined")
    return np.clip(a @ b / norms, -1.0, 1.0)

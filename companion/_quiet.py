"""Import TensorFlow without letting its start-up chatter reach stderr.

TensorFlow writes a few lines (oneDNN, CUDA stubs, CPU features) to file
descriptor 2 *before* its own log level is read, so setting
``TF_CPP_MIN_LOG_LEVEL`` alone cannot silence them. In Jupyter that descriptor is
captured into the notebook, so the import runs with descriptor 2 pointed at
``/dev/null``. Every companion module imports TensorFlow through this one.
"""

import contextlib
import os
import sys

# A user who sets the variable (e.g. to debug device placement) keeps their choice.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def silenced_stderr():
    """Point file descriptor 2 at ``/dev/null`` for the duration of the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


with silenced_stderr():
    import tensorflow as tf  # noqa: E402
    import keras  # noqa: E402

    # Device discovery logs too (e.g. "failed call to cuInit" on a machine without
    # a GPU); doing it here keeps those lines out of the first training cell.
    tf.config.list_physical_devices()

tf.get_logger().setLevel("ERROR")

__all__ = ["tf", "keras", "silenced_stderr"]

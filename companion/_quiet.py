"""Import TensorFlow without letting its start-up chatter reach stderr.

TensorFlow writes a few lines (oneDNN, CUDA stubs, CPU features) to file
descriptor 2 *before* its own log level is read, so setting
``TF_CPP_MIN_LOG_LEVEL`` alone cannot silence them. In Jupyter that descriptor is
captured into the notebook, so the import runs with descriptor 2 redirected (and
what was written is shown only if the import fails).

Importing this module does not import TensorFlow (5 s here): it installs an import
hook, so that TensorFlow's first import, whoever asks for it (a companion module,
``import keras`` in a notebook, a learner's ``import tensorflow``), runs silenced.
Tools that never train (the pytest plugin, the reader-notebook converter) therefore
start without it. ``from companion._quiet import keras, tf`` imports both.
"""

import contextlib
import importlib
import importlib.abc
import os
import sys
import tempfile
import warnings

# A user who sets the variable (e.g. to debug device placement) keeps their choice.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# The modules that register Keras objects (layers, schedules, optimizers) under
# "companion>...", so that keras.models.load_model finds them in a new process. The
# package imports its modules at first use (companion/__init__.py), so these are
# imported once TensorFlow and Keras have both started (register_with_keras).
_KERAS_OBJECT_MODULES = []
# Which of the two have been imported (before this module, or through _StartUpLoader).
_STARTED = {"tensorflow", "keras"} & set(sys.modules)


@contextlib.contextmanager
def silenced_stderr():
    """Redirect file descriptor 2 for the block; if the block raises, replay what it wrote.

    A failing import (a missing CUDA library, an unsupported CPU) thus keeps its own
    explanation, and a successful one prints nothing.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as captured:
            os.dup2(captured.fileno(), 2)
            try:
                yield
            except BaseException:
                os.dup2(saved, 2)
                captured.seek(0)
                os.write(2, captured.read())
                raise
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _warn_and_go_on(what, step):
    """Run ``step()``; a failure becomes a warning, so that the import it follows stands."""
    try:
        step()
    except Exception as error:  # noqa: BLE001  (reported, not hidden)
        warnings.warn(f"companion could not {what}: {type(error).__name__}: {error}",
                      RuntimeWarning, stacklevel=3)


def _register_keras_objects():
    for name in _KERAS_OBJECT_MODULES:
        importlib.import_module(name)


class _StartUpLoader(importlib.abc.Loader):
    """The real loader of ``tensorflow`` or ``keras``, plus what their first import needs.

    What follows the real import runs under :func:`_warn_and_go_on`: an exception
    leaving ``exec_module`` would make Python drop the module it has just loaded.
    """

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):  # resources, source, file name: the real loader's
        if name == "_loader":  # not set yet (copy.copy): no recursion
            raise AttributeError(name)
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        if module.__name__ == "keras":
            self._loader.exec_module(module)
        else:
            with silenced_stderr():
                self._loader.exec_module(module)
                # Device discovery logs too (e.g. "failed call to cuInit" on a machine without
                # a GPU); doing it here keeps those lines out of the first training cell.
                _warn_and_go_on("list TensorFlow's devices", module.config.list_physical_devices)
            _warn_and_go_on("quieten TensorFlow's logger",
                            lambda: module.get_logger().setLevel("ERROR"))
        # Either may import the other while it starts (TensorFlow 2.21's own __init__
        # imports Keras); the companion's Keras objects are registered once both have.
        _STARTED.add(module.__name__)
        if _STARTED == {"tensorflow", "keras"}:
            # Rebound, not edited in place: another thread may be iterating the old list.
            sys.meta_path = [finder for finder in sys.meta_path
                             if not isinstance(finder, _StartUpFinder)]
            _warn_and_go_on("register its Keras layers and schedules", _register_keras_objects)


class _StartUpFinder(importlib.abc.MetaPathFinder):
    """Hands the first import of ``tensorflow`` and of ``keras`` to :class:`_StartUpLoader`.

    TensorFlow also looks up keras's spec only to locate it, without importing it, so
    the finder stays until both have been loaded (``exec_module``), not found.
    """

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in {"tensorflow", "keras"} - _STARTED:
            return None
        # The spec the finders after this one give, as the import system would have.
        later = sys.meta_path[sys.meta_path.index(self) + 1:] if self in sys.meta_path else []
        for finder in later:
            find = getattr(finder, "find_spec", None)
            spec = None if find is None else find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None:
            spec.loader = _StartUpLoader(spec.loader)
        return spec


def register_with_keras(*modules):
    """Import ``modules`` once TensorFlow and Keras have started (now, if they have)."""
    _KERAS_OBJECT_MODULES.extend(modules)
    if _STARTED == {"tensorflow", "keras"}:
        for name in modules:
            importlib.import_module(name)


if _STARTED != {"tensorflow", "keras"} and not any(
        isinstance(finder, _StartUpFinder) for finder in sys.meta_path):
    sys.meta_path.insert(0, _StartUpFinder())


def __getattr__(name):
    """``tf`` and ``keras``, imported (quietly) at first use."""
    if name not in ("tf", "keras"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    tensorflow = importlib.import_module("tensorflow")
    globals().update(tf=tensorflow, keras=importlib.import_module("keras"))
    return globals()[name]


__all__ = ["tf", "keras", "register_with_keras", "silenced_stderr"]

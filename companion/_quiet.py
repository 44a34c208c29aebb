"""Import TensorFlow without letting its start-up chatter reach stderr.

TensorFlow writes a few lines (oneDNN, CUDA stubs, CPU features) to file
descriptor 2 *before* its own log level is read, so setting
``TF_CPP_MIN_LOG_LEVEL`` alone cannot silence them. In Jupyter that descriptor is
captured into the notebook, so the import runs with descriptor 2 pointed at
``/dev/null``.

Importing this module does not import TensorFlow (5 s here): it installs an import
hook, so that TensorFlow's first import, whoever asks for it (a companion module,
``import keras`` in a notebook, a learner's ``import tensorflow``), runs silenced.
Tools that never train (the pytest plugin, the reader-notebook converter) therefore
start without it. ``from companion._quiet import keras, tf`` imports both.
"""

import contextlib
import importlib
import importlib.abc
import importlib.util
import os
import sys

# A user who sets the variable (e.g. to debug device placement) keeps their choice.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# The modules that register Keras objects (layers, schedules, optimizers) under
# "companion>...", so that keras.models.load_model finds them in a new process. The
# package imports its modules at first use (companion/__init__.py), so these are
# imported with Keras instead (register_with_keras).
_KERAS_OBJECT_MODULES = []
# Which of the two have been imported (before this module, or through _StartUpLoader).
_STARTED = {"tensorflow", "keras"} & set(sys.modules)


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


class _StartUpLoader(importlib.abc.Loader):
    """The real loader of ``tensorflow`` or ``keras``, plus what their first import needs."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):  # resources, source, file name: the real loader's
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
                module.config.list_physical_devices()
            module.get_logger().setLevel("ERROR")
        # Either may import the other while it starts; the companion's Keras objects are
        # registered once both have.
        _STARTED.add(module.__name__)
        if _STARTED == {"tensorflow", "keras"}:
            sys.meta_path[:] = [finder for finder in sys.meta_path
                                if not isinstance(finder, _StartUpFinder)]
            for name in _KERAS_OBJECT_MODULES:
                importlib.import_module(name)


class _StartUpFinder(importlib.abc.MetaPathFinder):
    """Hands the first import of ``tensorflow`` and of ``keras`` to :class:`_StartUpLoader`."""

    def __init__(self):
        self._finding = set()

    def find_spec(self, fullname, path=None, target=None):
        # TensorFlow also asks for keras's spec only to locate it (a look-up, not an
        # import), so the finder stays until both have been loaded (exec_module).
        if fullname not in {"tensorflow", "keras"} - _STARTED or fullname in self._finding:
            return None
        self._finding.add(fullname)  # the look-up below must not come back here
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._finding.discard(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _StartUpLoader(spec.loader)
        return spec


def register_with_keras(*modules):
    """Import ``modules`` as soon as Keras is imported (now, if it already is)."""
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

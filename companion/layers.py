"""Custom Keras layers the lessons need and Keras lacks; every one is serialisable."""

from companion._quiet import keras, tf  # noqa: F401

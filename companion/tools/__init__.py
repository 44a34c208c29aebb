"""Reusable tools for any Keras model: they depend on Keras, TensorFlow and NumPy only."""

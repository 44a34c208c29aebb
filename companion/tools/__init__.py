"""Reusable tools: Keras extension points and NumPy references, with no course policy.

Everything here depends only on Keras, TensorFlow, NumPy, pandas and SciPy (and on
each other); a learner can take any of these modules into a project of their own.
"""

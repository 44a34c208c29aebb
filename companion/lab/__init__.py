"""The course's experiments: data, models, training runs, seeds, sweeps, recipes, benchmark.

Built on :mod:`companion.tools`; the seed that every driver uses by default comes from
:mod:`companion.lab.seeding`, which :func:`companion.setup` sets.
"""

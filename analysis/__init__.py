"""Pure analysis beside the recommender: text understanding, session and monitoring signals.

Like :mod:`recommender`, no I/O, no MLflow/Feast/BentoML imports and no clock: ``now`` is
a parameter.
"""

"""What each endpoint answers, as plain functions and classes over a mentee's context and a model bundle.

- :mod:`~serving.views.recommend`: ``/recommend`` (mode ``model``) and ``/items/{id}/similar``;
- :mod:`~serving.views.paths`: ``/path``, ``/recommend`` in mode ``path``, ``/skills/{id}``;
- :mod:`~serving.views.mentors`: ``/mentors/match`` and ``/mentors/assign``;
- :mod:`~serving.views.stale`: ``/catalog/stale`` with each stale item's reach.

A view receives what it reads (the context, the bundle serving now, the world, the log)
and never the app that holds them, so the app imports the views and nothing imports the app.
"""

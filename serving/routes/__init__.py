"""Route modules (APIRouters) that :mod:`serving.api` includes."""

"""Route modules: each an ``APIRouter`` that :mod:`serving.api` includes."""

"""Route modules (one APIRouter per area) that :mod:`serving.api` includes."""

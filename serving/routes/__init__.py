"""Route modules: each an APIRouter that serving/api.py includes."""

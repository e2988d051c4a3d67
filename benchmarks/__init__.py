"""Performance harnesses (importable so `skillpath bench` can run them)."""

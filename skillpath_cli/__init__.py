"""The ``skillpath`` command line: thin wrappers that parse, call the core, format."""

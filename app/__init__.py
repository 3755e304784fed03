"""The edges of Townsquare: settings, the ``townsquare`` CLI and the FastAPI service."""

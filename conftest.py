"""Root conftest: loads the tiltproof pytest plugin from this checkout (``pytest --claims``), without a
reinstall. An installed tiltproof registers the same module through its ``pytest11`` entry point, under
the module's own name, so pytest loads it once either way."""
pytest_plugins = ["tiltproof.pytest_plugin"]

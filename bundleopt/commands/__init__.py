"""Sub-commands of the ``bundleopt`` CLI, one module each, each with ``register(app)``."""

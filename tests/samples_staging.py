"""Sample rows for the staging primitives (``jit``); tested in ``test_jit.py``."""

SAMPLES = {
    "jit": [{"skip": "its parameter is a program; tested in test_jit.py"}],
}

"""Sample rows for the staging primitives (``jit``, ``remat2``); tested in ``test_jit.py`` and
``test_checkpoint.py``."""

SAMPLES = {
    "jit": [{"skip": "its parameter is a program; tested in test_jit.py"}],
    "remat2": [{"skip": "its parameter is a program; tested in test_checkpoint.py"}],
    "remat_opt": [{"skip": "its parameters are programs; tested in test_checkpoint.py"}],
}

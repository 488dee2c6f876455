"""``pullback.example_libraries``: JAX's example libraries, ``optimizers`` and ``stax``,
running on pullback (import them as ``from pullback.example_libraries import optimizers``)."""

"""Dtype utilities, mirroring :mod:`jax.dtypes`.

Promotion follows JAX rather than NumPy: Python scalars are *weakly typed* and
take the width of the arrays they meet, and, unless x64 is enabled, 64-bit
dtypes are narrowed to 32 bits.

>>> import numpy as np
>>> from pullback import dtypes
>>> dtypes.result_type(np.float16, 3.0)
dtype('float16')
>>> dtypes.float0.itemsize
0
"""

from ._dtypes import (
    canonicalize_dtype,
    finfo,
    float0,
    iinfo,
    is_weakly_typed,
    issubdtype,
    promote_types,
    result_type,
)

__all__ = [
    "canonicalize_dtype",
    "finfo",
    "float0",
    "iinfo",
    "is_weakly_typed",
    "issubdtype",
    "promote_types",
    "result_type",
]

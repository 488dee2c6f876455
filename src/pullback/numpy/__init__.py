"""``pullback.numpy``: NumPy's API on pullback arrays, differentiable and transformable."""

from numpy import get_printoptions, printoptions, set_printoptions

from pullback._ops import (
    absolute,
    add,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    cos,
    cosh,
    exp,
    exp2,
    expm1,
    log,
    log1p,
    log2,
    log10,
    maximum,
    minimum,
    multiply,
    negative,
    sin,
    sinh,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    true_divide,
    where,
)
from pullback._ops import (
    absolute as abs,
)
from pullback._ops import (
    true_divide as divide,
)
from pullback.numpy import _array_methods
from pullback.numpy._creation import (
    array,
    asarray,
    full,
    full_like,
    ones,
    ones_like,
    zeros,
    zeros_like,
)
from pullback.numpy._reductions import mean, sum

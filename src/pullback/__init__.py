"""pullback: JAX's function transformations, with custom derivative rules at their centre,
in pure Python on NumPy."""

from pullback import numpy
from pullback._api import grad, stop_gradient, value_and_grad, vjp
from pullback._core import Array

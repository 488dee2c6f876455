"""pullback: JAX's function transformations, with custom derivative rules at their centre,
in pure Python on NumPy."""

from pullback import dtypes, numpy, tree, tree_util
from pullback import custom_derivatives
from pullback._api import grad, stop_gradient, value_and_grad, vjp
from pullback._config import config, disable_x64, enable_x64
from pullback._core import Array
from pullback.custom_derivatives import custom_gradient, custom_vjp

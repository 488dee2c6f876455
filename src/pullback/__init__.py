"""pullback: JAX's function transformations, with custom derivative rules at their centre,
in pure Python on NumPy."""

from pullback import (
    ad_checkpoint,
    checkpoint_policies,
    custom_batching,
    custom_derivatives,
    dtypes,
    errors,
    experimental,
    lax,
    numpy,
    test_util,
    tree,
    tree_util,
)
from pullback._api import (
    grad,
    hessian,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    linearize,
    stop_gradient,
    value_and_grad,
    vjp,
    vmap,
)
from pullback._config import config, disable_jit, disable_x64, enable_x64
from pullback._core import Array
from pullback._dtypes import float0
from pullback._hop.callback import pure_callback
from pullback._hop.checkpoint import checkpoint, remat
from pullback._hop.jit import ShapeDtypeStruct, eval_shape, jit, make_jaxpr
from pullback._hop.transpose import linear_transpose
from pullback.custom_derivatives import closure_convert, custom_gradient, custom_jvp, custom_vjp

__version__ = "0.1.0"

__all__ = [
    "Array",
    "ad_checkpoint",
    "checkpoint",
    "checkpoint_policies",
    "ShapeDtypeStruct",
    "closure_convert",
    "config",
    "custom_batching",
    "custom_derivatives",
    "custom_gradient",
    "custom_jvp",
    "custom_vjp",
    "disable_jit",
    "disable_x64",
    "dtypes",
    "enable_x64",
    "errors",
    "eval_shape",
    "experimental",
    "float0",
    "grad",
    "hessian",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jit",
    "jvp",
    "lax",
    "linear_transpose",
    "linearize",
    "make_jaxpr",
    "numpy",
    "pure_callback",
    "remat",
    "stop_gradient",
    "test_util",
    "tree",
    "tree_util",
    "value_and_grad",
    "vjp",
    "vmap",
]

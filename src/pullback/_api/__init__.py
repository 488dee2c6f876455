"""The transformations users call: reverse mode (``vjp``, ``grad``, ``value_and_grad``,
``stop_gradient``), forward mode (``jvp``, ``linearize``), Jacobians (``jacfwd``, ``jacrev``,
``hessian``) and ``vmap``; one module each, over helpers they share in ``_common``."""

from pullback._api.forward import jvp, linearize
from pullback._api.jacobians import hessian, jacfwd, jacobian, jacrev
from pullback._api.reverse import grad, stop_gradient, value_and_grad, vjp
from pullback._api.vmap import vmap

__all__ = [
    "grad",
    "hessian",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "linearize",
    "stop_gradient",
    "value_and_grad",
    "vjp",
    "vmap",
]

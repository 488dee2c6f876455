"""``pullback.custom_derivatives``: user-defined derivative rules."""

from pullback._hop.custom_jvp import custom_jvp
from pullback._hop.custom_vjp import (
    CustomVJPException,
    CustomVJPPrimal,
    SymbolicZero,
    closure_convert,
    custom_gradient,
    custom_vjp,
    custom_vjp_primal_tree_values,
)

__all__ = [
    "CustomVJPException",
    "CustomVJPPrimal",
    "SymbolicZero",
    "closure_convert",
    "custom_gradient",
    "custom_jvp",
    "custom_vjp",
    "custom_vjp_primal_tree_values",
]

"""``pullback.custom_derivatives``: user-defined derivative rules."""

from pullback._hop.closure_convert import closure_convert
from pullback._hop.custom_call import (
    CustomVJPException,
    CustomVJPPrimal,
    SymbolicZero,
    custom_vjp_primal_tree_values,
    zero_from_primal,
)
from pullback._hop.custom_gradient import custom_gradient
from pullback._hop.custom_jvp import custom_jvp
from pullback._hop.custom_vjp import custom_vjp

__all__ = [
    "CustomVJPException",
    "CustomVJPPrimal",
    "SymbolicZero",
    "closure_convert",
    "custom_gradient",
    "custom_jvp",
    "custom_vjp",
    "custom_vjp_primal_tree_values",
    "zero_from_primal",
]

"""``custom_gradient``: a function and its VJP defined together, ``fun(*args) -> (out,
vjp_fn)``.

A facade over ``custom_vjp``: the primal is ``fun``'s first output, ``vjp_fn`` reaches ``bwd`` as
a residual (``_VJPFn``, an opaque pytree node), and keyword arguments pass through as keyword-only,
non-differentiable values.
"""

from __future__ import annotations

from pullback._hop.custom_call import _name
from pullback._hop.custom_vjp import custom_vjp
from pullback.tree_util import register_pytree_node

__all__ = ["custom_gradient"]


class _VJPFn:
    """A ``custom_gradient`` vjp function carried as a residual (an opaque pytree node)."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn


register_pytree_node(_VJPFn, lambda v: ((), v.fn), lambda fn, _: _VJPFn(fn))


def custom_gradient(fun):
    """Define a function and its VJP together: ``fun(*args) -> (out, vjp_fn)``.

    >>> import pullback as jax
    >>> @jax.custom_gradient
    ... def f(x):
    ...     return x ** 2, lambda g: (g * x,)
    >>> jax.grad(f)(3.0)
    Array(3., dtype=float32, weak_type=True)
    """

    # Positional arguments are differentiable; keyword arguments are passed through as
    # non-differentiable keyword-only values (so no functools.wraps: the signature must stay
    # (*args, **kwargs)).
    def primal(*args, **kwargs):
        return fun(*args, **kwargs)[0]

    primal.__name__ = _name(fun)
    primal.__qualname__ = getattr(fun, "__qualname__", primal.__name__)
    primal.__doc__ = fun.__doc__

    def fwd(*args, **kwargs):
        out, vjp_fn = fun(*args, **kwargs)
        return out, (_VJPFn(vjp_fn), len(args))

    def bwd(res, g):
        vjp_fn, nargs = res
        cts = vjp_fn.fn(g)
        if nargs == 1 and not isinstance(cts, (tuple, list)):
            cts = (cts,)
        return tuple(cts)

    wrapped = custom_vjp(primal)
    wrapped.defvjp(fwd, bwd)
    return wrapped

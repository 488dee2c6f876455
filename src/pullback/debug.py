"""``pullback.debug``: ``print`` and ``callback`` that work eagerly and inside transformations,
as ``jax.debug``'s.

Both bind the primitive ``debug_callback`` (``pullback._hop.debug_callback``): under ``jit``
the call is an equation of the compiled program, so it runs each time the program runs, with
the values of that call (not while tracing); under ``vmap`` it runs once per example; under
``grad``/``jvp`` it sees the primal values. ``ordered=`` is accepted (calls run in program
order anyway); ``partitioned=`` is accepted and means nothing on one device.
"""

from __future__ import annotations

import string
import sys

import numpy as np

from pullback._hop.debug_callback import bind_debug_callback

__all__ = ["callback", "print"]


def callback(callback=None, *args, ordered=False, partitioned=False, **kwargs):
    """Call ``callback(*args, **kwargs)`` for its effect, from eager or traced code.

    Array arguments reach ``callback`` as ``Array`` values (one example's under ``vmap``,
    primal values under differentiation); other arguments as they are. Also callable in two
    steps, options first: ``callback(ordered=True)(fn, *args, **kwargs)``.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> from pullback import debug
    >>> seen = []
    >>> def f(x):
    ...     debug.callback(lambda v, tag: seen.append((tag, v)), x * 2, tag="twice")
    ...     return x + 1
    >>> _ = f(jnp.arange(3.0))
    >>> _ = jax.vmap(lambda x: debug.callback(seen.append, x))(jnp.arange(2))
    >>> seen
    [('twice', Array([0., 2., 4.], dtype=float32)), Array(0, dtype=int32), Array(1, dtype=int32)]
    """

    def _debug_callback(fn, *c_args, **c_kwargs):
        if not callable(fn):
            raise TypeError(
                f"first argument to jax.debug.callback must be callable, but got an object of "
                f"type {type(fn)}"
            )
        bind_debug_callback(fn, c_args, c_kwargs, ordered=ordered, partitioned=partitioned)

    if callback is not None:
        _debug_callback(callback, *args, **kwargs)
        return None
    if args or kwargs:
        raise TypeError(
            f"debug_callback received unexpected arguments in the two-call form: {args=} {kwargs=}"
        )
    return _debug_callback


class _FormatChecker(string.Formatter):
    """Checks that a format string uses every argument, without formatting anything."""

    def format_field(self, value, format_spec):
        return ""

    def check_unused_args(self, used_args, args, kwargs):
        unused_args = [arg for i, arg in enumerate(args) if i not in used_args]
        unused_kwargs = [k for k in kwargs if k not in used_args]
        if unused_args:
            raise ValueError(f"Unused positional arguments to `jax.debug.print`: {unused_args}")
        if unused_kwargs:
            raise ValueError(
                f"Unused keyword arguments to `jax.debug.print`: {unused_kwargs}. You may be "
                f'passing an f-string (i.e, `f"{{x}}"`) into `jax.debug.print` and instead '
                f"should pass in a regular string."
            )


_formatter = _FormatChecker()


def _format_print_callback(fmt, np_printoptions, has_placeholders, *args, **kwargs):
    if has_placeholders:
        with np.printoptions(**np_printoptions):
            msg = fmt.format(*args, **kwargs)
    else:
        msg = " ".join((fmt, *(str(a) for a in args)))
    sys.stdout.write(msg + "\n")


def print(fmt=None, *args, ordered=False, partitioned=False, skip_format_check=False, **kwargs):
    """Print values, eagerly and from staged functions: ``fmt.format(*args, **kwargs)``.

    Formatting happens when the values exist (at run time under ``jit``), so pass values as
    arguments, not in an f-string: ``print("x = {x}", x=x)``. NumPy's print options in force at
    the call apply. Also callable in two steps: ``print(ordered=True)("{}", x)``.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> from pullback import debug
    >>> def f(x):
    ...     debug.print("x = {x}, sum = {s:.2f}", x=x, s=x.sum())
    ...     return x * 2
    >>> _ = f(jnp.arange(3.0))
    x = [0. 1. 2.], sum = 3.00
    >>> _ = jax.vmap(f)(jnp.arange(2.0))
    x = 0.0, sum = 0.00
    x = 1.0, sum = 1.00
    >>> _ = jax.grad(lambda x: f(x).sum())(jnp.ones(2))
    x = [1. 1.], sum = 2.00
    """

    def _debug_print(fmt, *c_args, **c_kwargs):
        if not skip_format_check:
            _formatter.format(fmt, *c_args, **c_kwargs)
        has_placeholders = False
        if fmt:
            _, field_name, *_ = next(iter(string.Formatter().parse(fmt)))
            has_placeholders = field_name is not None
        options = dict(np.get_printoptions())

        def _print_callback(*a, **k):
            _format_print_callback(fmt, options, has_placeholders, *a, **k)

        _print_callback.__name__ = "debug_print"
        bind_debug_callback(
            _print_callback, c_args, c_kwargs, ordered=ordered, partitioned=partitioned
        )

    if fmt is not None:
        _debug_print(fmt, *args, **kwargs)
        return None
    if args or kwargs:
        raise TypeError(
            f"debug_print received unexpected arguments in the two-call form: {args=} {kwargs=}"
        )
    return _debug_print

"""JAX's wording first (issue 11, item 6).

Where JAX raises for a misuse of ``custom_vjp``, ``custom_jvp``, ``grad``/``value_and_grad``,
``vjp``, ``jvp``, ``vmap`` or ``jit``, pullback raises JAX's exception type and its message starts
with JAX's sentence for it (so code and tests matching JAX's text keep working), then adds
pullback's detail: the argument, the pytree path, the fix.

Each misuse is a function of the library (``jax``) and its NumPy (``jnp``), run twice:

- ``test_pullback_leads_with_jax_wording`` runs it on pullback alone and checks the exception type
  and the leading sentence written below as a literal (it runs without JAX installed);
- ``test_jax_raises_the_same`` runs it on JAX too and checks that pullback's exception type is
  JAX's (``pullback.errors.X`` for ``jax.errors.X``) and that pullback's message starts with JAX's
  first sentence, computed from JAX's message: cut at the first ". " or newline, with volatile
  parts (addresses, values, tracer types, source lines) left out through ``upto``.

The cases where pullback deliberately differs are at the end (``DIFFERENCES``), each checked
against its line in docs/differences.md.
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib
import re

import numpy as np
import pytest

import pullback
import pullback.numpy as pnp


@pytest.fixture(scope="module")
def real():
    return pytest.importorskip("jax")


# -- comparing messages ---------------------------------------------------------------------------


def _normalize(text):
    """What may differ between the libraries and is not wording."""
    text = text.replace("PyTreeDef", "PyTreeSpec")  # optree's type (docs/differences.md)
    text = re.sub(r"0x[0-9a-fA-F]+", "0x?", text)  # object addresses
    return re.sub(r" at [^\s:]+\.py:\d+", "", text)  # JAX's source lines of functions


def _first_sentence(text):
    """Up to the first ". " (not of "e.g." or "i.e.") or newline."""
    m = re.search(r"(?<!e\.g)(?<!i\.e)\. |\n", text)
    return text[: m.start() + 1].rstrip() if m else text.rstrip()


def _stable(sentence, upto):
    """The sentence up to and including ``upto``, where a volatile part (a value's repr) starts."""
    if upto is None:
        return sentence
    assert upto in sentence, (upto, sentence)
    return sentence[: sentence.index(upto) + len(upto)]


def _raised(misuse, jax, jnp):
    with pytest.raises(Exception) as info:
        misuse(jax, jnp)
    return info.value


def _public_type(exc_type):
    """JAX's exception type as user code names it: a builtin or a ``jax.errors`` class."""
    return next(t for t in exc_type.__mro__ if t.__module__ in ("builtins", "jax.errors"))


# -- the cases ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    misuse: object
    error: type  # pullback's exception type, exactly
    lead: str  # the start of pullback's message, exactly
    upto: str | None = None  # compare JAX's first sentence up to this (a volatile part follows)
    jax_gap: str | None = None  # pullback does not lead with JAX's sentence yet: why


CASES = {}


def case(error, lead, **kwargs):
    def register(misuse):
        CASES[misuse.__name__] = Case(misuse, error, lead, **kwargs)
        return misuse

    return register


# custom_vjp ---------------------------------------------------------------------------------------

_FWD_PAIR = (
    "Custom VJP fwd rule <lambda> for function f must produce a pair (list or tuple of length two) "
    "where the first element represents the primal output (equal to {} the custom_vjp-decorated "
    "function f) and the second element represents residuals (i.e. values stored from the forward "
    "pass for use on the backward pass), but instead "
)
_BWD_STRUCTURE = (
    "Custom VJP bwd rule must produce an output with the same container (pytree) structure as the "
    "args tuple of the primal function, and in particular must produce a tuple of length equal to "
    "the number of arguments to the primal function, but got bwd output structure "
)
_BWD_TYPE = (
    "Custom VJP bwd rule must produce an output with the same type as the args tuple of the "
    "primal function, but at "
)
_BIND = (
    "The input arguments to the custom_vjp-decorated function f could not be resolved to "
    "positional-only arguments."
)


def _sine(jax, jnp, fwd, bwd):
    @jax.custom_vjp
    def f(x):
        return jnp.sin(x)

    f.defvjp(fwd, bwd)
    return f


@case(AttributeError, "No VJP defined for custom_vjp function f using defvjp.")
def cvjp_call_before_defvjp(jax, jnp):
    @jax.custom_vjp
    def f(x):
        return x

    f(1.0)


@case(AttributeError, "No VJP defined for custom_vjp function f using defvjp.")
def cvjp_grad_before_defvjp(jax, jnp):
    @jax.custom_vjp
    def f(x):
        return x

    jax.grad(f)(1.0)


@case(
    TypeError,
    _FWD_PAIR.format("those of") + "of a pair the fwd rule <lambda> produced ",
    upto="produced ",
)
def cvjp_fwd_not_a_pair(jax, jnp):
    jax.grad(_sine(jax, jnp, lambda x: jnp.sin(x), lambda r, g: (g,)))(1.0)


@case(
    TypeError,
    _FWD_PAIR.format("those of") + "of a pair the fwd rule <lambda> produced ",
    upto="produced ",
)
def cvjp_fwd_triple(jax, jnp):
    jax.grad(_sine(jax, jnp, lambda x: (jnp.sin(x), x, x), lambda r, g: (g,)))(1.0)


@case(
    TypeError,
    _FWD_PAIR.format("the output of")
    + "the fwd rule output's first element had container/pytree structure:\n"
    "    (float32[], float32[])\nwhile the custom_vjp-decorated function f had output "
    "container/pytree structure:\n    float32[].",
)
def cvjp_fwd_output_structure_staged(jax, jnp):
    jax.vjp(jax.jit(_sine(jax, jnp, lambda x: ((x, x), x), lambda r, g: (g,))), 1.0)


@case(
    TypeError,
    _FWD_PAIR.format("the output of") + "the fwd rule output's first element had shapes/dtypes "
    "of:\n    float32[3]\nwhile the custom_vjp-decorated function f had output shapes/dtypes of:"
    "\n    float32[]",
)
def cvjp_fwd_output_shape_staged(jax, jnp):
    jax.vjp(jax.jit(_sine(jax, jnp, lambda x: (jnp.ones(3), x), lambda r, g: (g,))), 1.0)


@case(TypeError, _BWD_STRUCTURE + "PyTreeSpec((*, *)) for primal input structure PyTreeSpec((*,)).")
def cvjp_bwd_too_long(jax, jnp):
    jax.grad(_sine(jax, jnp, lambda x: (jnp.sin(x), x), lambda r, g: (g, g)))(1.0)


@case(TypeError, _BWD_STRUCTURE + "PyTreeSpec(*) for primal input structure PyTreeSpec((*,)).")
def cvjp_bwd_not_a_tuple(jax, jnp):
    jax.grad(_sine(jax, jnp, lambda x: (jnp.sin(x), x), lambda r, g: g))(1.0)


@case(TypeError, _BWD_STRUCTURE + "PyTreeSpec([*, *]) for primal input structure PyTreeSpec((*,)).")
def cvjp_bwd_list_too_long(jax, jnp):
    jax.grad(_sine(jax, jnp, lambda x: (jnp.sin(x), x), lambda r, g: [g, g]))(1.0)


@case(TypeError, _BWD_STRUCTURE + "PyTreeSpec((*, *)) for primal input structure PyTreeSpec((*,)).")
def cvjp_bwd_entry_for_nondiff_argument(jax, jnp):
    @functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
    def f(n, x):
        return x * n

    f.defvjp(lambda n, x: (f(n, x), x), lambda n, r, g: (g, g))
    jax.grad(f, argnums=1)(2.0, 1.0)


@case(
    TypeError,
    _BWD_STRUCTURE + "PyTreeSpec(({'b': *},)) for primal input structure PyTreeSpec(({'a': *},)).",
)
def cvjp_bwd_wrong_subtree(jax, jnp):
    @jax.custom_vjp
    def f(x):
        return jnp.sin(x["a"])

    f.defvjp(lambda x: (f(x), x), lambda r, g: ({"b": g},))
    jax.grad(f)({"a": 1.0})


@case(
    ValueError,
    _BWD_TYPE + "output[0] the bwd rule produced an output of type float32[3] corresponding to an "
    "input of type float32[], so the shapes do not match",
)
def cvjp_bwd_wrong_shape(jax, jnp):
    jax.grad(_sine(jax, jnp, lambda x: (jnp.sin(x), x), lambda r, g: (jnp.ones(3),)))(1.0)


@case(
    ValueError,
    _BWD_TYPE + "output[0] the bwd rule produced an output of type float32[] corresponding to an "
    "input of type float32[3], so the shapes do not match",
)
def cvjp_bwd_scalar_for_a_vector(jax, jnp):
    @jax.custom_vjp
    def f(x):
        return jnp.sum(x)

    f.defvjp(lambda x: (jnp.sum(x), x), lambda r, g: (g,))
    jax.grad(f)(jnp.ones(3))


@case(
    ValueError,
    _BWD_TYPE + "output[1]['w'] the bwd rule produced an output of type float32[2] corresponding "
    "to an input of type float32[], so the shapes do not match",
)
def cvjp_bwd_wrong_shape_in_a_pytree(jax, jnp):
    @jax.custom_vjp
    def f(x, p):
        return jnp.sum(x) * p["w"]

    f.defvjp(lambda x, p: (f(x, p), (x, p)), lambda r, g: (None, {"w": jnp.ones(2)}))
    jax.grad(f, argnums=1)(jnp.ones(3), {"w": 1.0})


@case(
    ValueError,
    _BWD_TYPE + "output[1] the bwd rule produced an output of type float32[2] corresponding to an "
    "input of type float32[], so the shapes do not match",
)
def cvjp_bwd_wrong_shape_after_a_nondiff_argument(jax, jnp):
    @functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
    def f(n, x, y):
        return x * y * n

    f.defvjp(lambda n, x, y: (f(n, x, y), (x, y)), lambda n, r, g: (g, jnp.ones(2)))
    jax.grad(f, argnums=2)(2.0, 1.0, 1.0)


@case(TypeError, "Argument 'hello' of type <class 'str'> is not a valid JAX type")
def cvjp_bwd_not_an_array(jax, jnp):
    jax.grad(_sine(jax, jnp, lambda x: (jnp.sin(x), x), lambda r, g: ("hello",)))(1.0)


@case(
    ValueError,
    "Custom VJP bwd rule produced a SymbolicZero with a shape/dtype that does not match the "
    "corresponding input tangent shape/dtype: at output[1] the SymbolicZero had shape/dtype "
    "float32[2] while the corresponding input had shape/dtype float32[].",
)
def cvjp_bwd_wrong_symbolic_zero(jax, jnp):
    zero = jax.custom_derivatives.SymbolicZero

    @jax.custom_vjp
    def f(x, y):
        return x * y

    f.defvjp(
        lambda x, y: (x.value * y.value, (x.value, y.value)),
        lambda r, g: (g * r[1], zero.from_primal_value(jnp.ones(2))),
        symbolic_zeros=True,
    )
    jax.grad(f, (0, 1))(2.0, 3.0)


@case(TypeError, "Argument 'hello' of type <class 'str'> is not a valid JAX type")
def cvjp_residual_not_an_array(jax, jnp):
    jax.grad(_sine(jax, jnp, lambda x: (jnp.sin(x), "hello"), lambda r, g: (g,)))(1.0)


@case(TypeError, "Argument '<object object at 0x", upto=" of type ")
def cvjp_residual_leaf_not_an_array(jax, jnp):
    jax.grad(_sine(jax, jnp, lambda x: (jnp.sin(x), (x, object())), lambda r, g: (g,)))(1.0)


def _product(jax):
    @jax.custom_vjp
    def f(x, y):
        return x * y

    f.defvjp(lambda x, y: (x * y, (x, y)), lambda r, g: (g, g))
    return f


@case(TypeError, _BIND)
def cvjp_missing_argument(jax, jnp):
    _product(jax)(1.0)


@case(TypeError, _BIND)
def cvjp_too_many_arguments(jax, jnp):
    _product(jax)(1.0, 2.0, 3.0)


@case(TypeError, _BIND)
def cvjp_unknown_keyword(jax, jnp):
    _product(jax)(1.0, 2.0, z=3.0)


# custom_jvp ---------------------------------------------------------------------------------------

_JVP_TYPES = (
    "Custom JVP rule must produce primal and tangent outputs with corresponding shapes and dtypes"
)
_JVP_PRIMAL = (
    "Custom JVP rule <lambda> for function f must produce a pair (list or tuple of length two) "
    "where the first element represents the primal output (equal in value to the output of the "
    "custom_jvp-decorated function f, and in particular "
)


def _jvp_sine(jax, jnp, rule):
    @jax.custom_jvp
    def f(x):
        return jnp.sin(x)

    f.defjvp(rule)
    return f


@case(AttributeError, "No JVP defined for custom_jvp function f using defjvp.")
def cjvp_call_before_defjvp(jax, jnp):
    @jax.custom_jvp
    def f(x):
        return x

    f(1.0)


@case(AttributeError, "No JVP defined for custom_jvp function f using defjvp.")
def cjvp_jvp_before_defjvp(jax, jnp):
    @jax.custom_jvp
    def f(x):
        return x

    jax.jvp(f, (1.0,), (1.0,))


@case(
    TypeError,
    "Custom JVP rule <lambda> for function f must produce a pair (list or tuple of length two) "
    "representing primal and tangent outputs, but got ",
    upto="but got ",
)
def cjvp_rule_not_a_pair(jax, jnp):
    jax.jvp(_jvp_sine(jax, jnp, lambda p, t: jnp.sin(p[0])), (1.0,), (1.0,))


@case(
    TypeError,
    "Custom JVP rule <lambda> for function f must produce a pair (list or tuple of length two) "
    "representing primal and tangent outputs, but got ",
    upto="but got ",
)
def cjvp_rule_triple(jax, jnp):
    jax.jvp(_jvp_sine(jax, jnp, lambda p, t: (jnp.sin(p[0]), t[0], t[0])), (1.0,), (1.0,))


@case(
    TypeError,
    "Custom JVP rule <lambda> for function f must produce primal and tangent outputs with equal "
    "container (pytree) structures, but got PyTreeSpec(*) and PyTreeSpec((*, *)) respectively.",
)
def cjvp_rule_tangent_structure(jax, jnp):
    jax.jvp(_jvp_sine(jax, jnp, lambda p, t: (jnp.sin(p[0]), (t[0], t[0]))), (1.0,), (1.0,))


@case(
    TypeError, _JVP_TYPES + ". Expected float32[] (tangent type of float32[]) but got float32[3]."
)
def cjvp_rule_tangent_shape(jax, jnp):
    jax.jvp(_jvp_sine(jax, jnp, lambda p, t: (jnp.sin(p[0]), jnp.ones(3))), (1.0,), (1.0,))


@case(TypeError, _JVP_TYPES + ". Expected float32[] (tangent type of float32[]) but got float16[].")
def cjvp_rule_tangent_dtype(jax, jnp):
    rule = lambda p, t: (jnp.sin(p[0]), jnp.float16(1.0))  # noqa: E731
    jax.jvp(_jvp_sine(jax, jnp, rule), (1.0,), (1.0,))


@case(
    TypeError, _JVP_TYPES + ". Expected float32[] (tangent type of float32[]) but got float32[3]."
)
def cjvp_rule_tangent_shape_under_grad(jax, jnp):
    jax.grad(_jvp_sine(jax, jnp, lambda p, t: (jnp.sin(p[0]), jnp.ones(3))))(1.0)


@case(
    TypeError,
    _JVP_TYPES + ", but got:\n  primal float32[] with tangent float32[2], expecting tangent "
    "float32[]\n",
)
def cjvp_rule_tangent_shape_of_one_output(jax, jnp):
    @jax.custom_jvp
    def f(x):
        return {"a": x, "b": x}

    f.defjvp(lambda p, t: ({"a": p[0], "b": p[0]}, {"a": t[0], "b": jnp.ones(2)}))
    jax.jvp(f, (1.0,), (1.0,))


@case(TypeError, "Argument 't' of type <class 'str'> is not a valid JAX type")
def cjvp_rule_tangent_not_an_array(jax, jnp):
    jax.jvp(_jvp_sine(jax, jnp, lambda p, t: (jnp.sin(p[0]), "t")), (1.0,), (1.0,))


@case(
    TypeError,
    _JVP_PRIMAL + "of the same container/pytree structure), but instead the JVP rule output's "
    "first element had container/pytree structure:\n    (float32[], float32[])\nwhile the "
    "custom_jvp-decorated function f had output container/pytree structure:\n    float32[].",
)
def cjvp_rule_primal_structure_staged(jax, jnp):
    rule = lambda p, t: ((p[0], p[0]), (t[0], t[0]))  # noqa: E731
    jax.jvp(jax.jit(_jvp_sine(jax, jnp, rule)), (1.0,), (1.0,))


@case(
    TypeError,
    _JVP_PRIMAL + "with leaves of the same shape/dtype), but instead the JVP rule output's first "
    "element had shapes/dtypes of:\n    float32[2]\nwhile the custom_jvp-decorated function f had "
    "output shapes/dtypes of:\n    float32[]",
)
def cjvp_rule_primal_shape_staged(jax, jnp):
    rule = lambda p, t: (jnp.ones(2), jnp.ones(2))  # noqa: E731
    jax.jvp(jax.jit(_jvp_sine(jax, jnp, rule)), (1.0,), (1.0,))


@case(
    ValueError,
    "jvp called with different primal and tangent shapes;Got primal shape () and tangent shape "
    "as (3,)",
)
def cjvp_primal_and_tangent_shapes_differ(jax, jnp):
    rule = lambda p, t: (jnp.sin(p[0]), t[0])  # noqa: E731
    jax.jvp(_jvp_sine(jax, jnp, rule), (1.0,), (jnp.ones(3),))


@case(
    TypeError,
    "The input arguments to the custom_jvp-decorated function f could not be resolved to "
    "positional-only arguments.",
)
def cjvp_missing_argument(jax, jnp):
    @jax.custom_jvp
    def f(x, y):
        return x * y

    f.defjvp(lambda p, t: (p[0] * p[1], t[0]))
    f(1.0)


@case(TypeError, "Can't use ``defjvps`` with ``nondiff_argnums``.")
def cjvp_defjvps_with_nondiff_argnums(jax, jnp):
    @functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
    def f(n, x):
        return x

    f.defjvps(lambda g, ans, x: g)


# grad, value_and_grad ----------------------------------------------------------------------------

_INEXACT_IN = (
    "grad requires real- or complex-valued inputs (input dtype that is a sub-dtype of "
    "np.inexact), but got {}."
)
_REAL_OUT = (
    "grad requires real-valued outputs (output dtype that is a sub-dtype of np.floating), but "
    "got {}."
)
_AUX = "expected function with aux output to return a two-element tuple, but got type "


@case(TypeError, "Gradient only defined for scalar-output functions.")
def grad_of_a_vector(jax, jnp):
    jax.grad(lambda x: x * 2)(jnp.ones(3))


@case(TypeError, "Gradient only defined for scalar-output functions.")
def grad_of_a_tuple(jax, jnp):
    jax.grad(lambda x: (x, x))(1.0)


@case(TypeError, _INEXACT_IN.format("int32"))
def grad_of_an_int_input(jax, jnp):
    jax.grad(lambda x: x * 2)(1)


@case(TypeError, _INEXACT_IN.format("bool"))
def grad_of_a_bool_input(jax, jnp):
    jax.grad(lambda x: 1.0)(True)


@case(TypeError, _REAL_OUT.format("int32"))
def grad_of_an_int_output(jax, jnp):
    jax.grad(lambda x: jnp.int32(x))(1.0)


@case(TypeError, _REAL_OUT.format("complex64"))
def grad_of_a_complex_output(jax, jnp):
    jax.grad(lambda x: x * 1j)(1.0)


@case(
    TypeError,
    "differentiating with respect to argnums=3 requires at least 4 positional arguments to be "
    "passed by the caller, but got only 1 positional arguments.",
)
def grad_argnums_out_of_range(jax, jnp):
    jax.grad(lambda x: x, argnums=3)(1.0)


@case(
    ValueError,
    "Positional argument indices, e.g. for `static_argnums`, must have value greater than or "
    "equal to -len(args) and less than len(args), but got value -3 for len(args) == 1.",
)
def grad_negative_argnums_out_of_range(jax, jnp):
    jax.grad(lambda x: x, argnums=-3)(1.0)


@case(
    TypeError,
    "differentiating with respect to argnums=0 requires at least 1 positional arguments to be "
    "passed by the caller, but got only 0 positional arguments.",
)
def grad_without_arguments(jax, jnp):
    jax.grad(lambda: 1.0)()


@case(TypeError, _AUX, upto=_AUX)
def grad_has_aux_without_a_pair(jax, jnp):
    jax.grad(lambda x: x, has_aux=True)(1.0)


@case(TypeError, _AUX + "<class 'tuple'> with value ", upto="with value ")
def grad_has_aux_with_a_triple(jax, jnp):
    jax.grad(lambda x: (x, x, x), has_aux=True)(1.0)


@case(TypeError, "Argument 'hello' of type <class 'str'> is not a valid JAX type.")
def grad_of_a_string(jax, jnp):
    jax.grad(lambda x: 1.0)("hello")


@case(TypeError, "Expected a callable value, got 3")
def grad_of_a_non_callable(jax, jnp):
    jax.grad(3)


@case(TypeError, "Gradient only defined for scalar-output functions.")
def value_and_grad_of_a_vector(jax, jnp):
    jax.value_and_grad(lambda x: x * 2)(jnp.ones(3))


@case(TypeError, _INEXACT_IN.format("int32"))
def value_and_grad_of_an_int_input(jax, jnp):
    jax.value_and_grad(lambda x: x * 2)(1)


@case(TypeError, _REAL_OUT.format("int32"))
def value_and_grad_of_an_int_output(jax, jnp):
    jax.value_and_grad(lambda x: jnp.int32(x))(1.0)


@case(TypeError, _AUX, upto=_AUX)
def value_and_grad_has_aux_without_a_pair(jax, jnp):
    jax.value_and_grad(lambda x: x, has_aux=True)(1.0)


@case(
    TypeError,
    "differentiating with respect to argnums=(0, 2) requires at least 3 positional arguments to "
    "be passed by the caller, but got only 1 positional arguments.",
)
def value_and_grad_argnums_out_of_range(jax, jnp):
    jax.value_and_grad(lambda x: x, argnums=(0, 2))(1.0)


# vjp ----------------------------------------------------------------------------------------------

_CT_TYPE = (
    "unexpected JAX type (e.g. shape/dtype) for argument to VJP function: got {}, but expected "
    "float32[3] because the corresponding output of the differentiated function had JAX type "
    "float32[3]"
)


def _pullback(jax, jnp):
    return jax.vjp(lambda x: x * 2, jnp.ones(3))[1]


@case(ValueError, _CT_TYPE.format("float32[2]"))
def vjp_cotangent_shape(jax, jnp):
    _pullback(jax, jnp)(jnp.ones(2))


@case(ValueError, _CT_TYPE.format("float16[3]"))
def vjp_cotangent_dtype(jax, jnp):
    _pullback(jax, jnp)(jnp.ones(3, jnp.float16))


@case(ValueError, _CT_TYPE.format("int32[3]"))
def vjp_cotangent_int(jax, jnp):
    _pullback(jax, jnp)(jnp.ones(3, jnp.int32))


@case(ValueError, _CT_TYPE.format("float32[]"))
def vjp_cotangent_python_float(jax, jnp):
    _pullback(jax, jnp)(1.0)


@case(ValueError, "unexpected tree structure.")
def vjp_cotangent_tree(jax, jnp):
    jax.vjp(lambda x: (x, x), jnp.ones(3))[1](jnp.ones(3))


@case(ValueError, "unexpected tree structure.")
def vjp_cotangent_list_for_a_tuple(jax, jnp):
    jax.vjp(lambda x: (x, x), 1.0)[1]([1.0, 1.0])


@case(TypeError, _AUX, upto=_AUX)
def vjp_has_aux_without_a_pair(jax, jnp):
    jax.vjp(lambda x: x, 1.0, has_aux=True)


@case(TypeError, "Argument 'hello' of type <class 'str'> is not a valid JAX type.")
def vjp_of_a_string(jax, jnp):
    jax.vjp(lambda x: x, "hello")


@case(TypeError, "Expected a callable value, got 3")
def vjp_of_a_non_callable(jax, jnp):
    jax.vjp(3, 1.0)


# jvp ----------------------------------------------------------------------------------------------

_JVP_DTYPES = (
    "primal and tangent arguments to jax.jvp do not match; dtypes must be equal, or in case of "
    "int/bool primal dtype the tangent dtype must be float0.Got primal dtype float32 and so "
    "expected tangent dtype float32, but got tangent dtype {} instead."
)


@case(
    TypeError,
    "primal and tangent arguments to jax.jvp must be tuples or lists; found float and tuple.",
)
def jvp_primals_not_a_tuple(jax, jnp):
    jax.jvp(lambda x: x, 1.0, (1.0,))


@case(
    TypeError,
    "primal and tangent arguments to jax.jvp must be tuples or lists; found tuple and float.",
)
def jvp_tangents_not_a_tuple(jax, jnp):
    jax.jvp(lambda x: x, (1.0,), 1.0)


@case(
    TypeError,
    "primal and tangent arguments to jax.jvp must have the same tree structure; primals have "
    "tree structure PyTreeSpec((*, *)) whereas tangents have tree structure PyTreeSpec((*,)).",
)
def jvp_structures_differ(jax, jnp):
    jax.jvp(lambda x, y: x, (1.0, 2.0), (1.0,))


@case(
    TypeError,
    "primal and tangent arguments to jax.jvp must have the same tree structure; primals have "
    "tree structure PyTreeSpec(({'a': *},)) whereas tangents have tree structure "
    "PyTreeSpec(({'b': *},)).",
)
def jvp_dict_keys_differ(jax, jnp):
    jax.jvp(lambda x: x, ({"a": 1.0},), ({"b": 1.0},))


@case(
    ValueError,
    "jvp called with different primal and tangent shapes;Got primal shape (3,) and tangent shape "
    "as (2,)",
)
def jvp_shapes_differ(jax, jnp):
    jax.jvp(lambda x: x, (jnp.ones(3),), (jnp.ones(2),))


@case(TypeError, _JVP_DTYPES.format("float16"))
def jvp_dtypes_differ(jax, jnp):
    jax.jvp(lambda x: x, (jnp.ones(3),), (jnp.ones(3, jnp.float16),))


@case(TypeError, _JVP_DTYPES.format("int32"))
def jvp_int_tangent(jax, jnp):
    jax.jvp(lambda x: x, (jnp.ones(3),), (jnp.ones(3, jnp.int32),))


@case(TypeError, "Argument 'a' of type <class 'str'> is not a valid JAX type")
def jvp_of_a_string(jax, jnp):
    jax.jvp(lambda x: x, ("a",), ("a",))


@case(TypeError, "Argument 'a' of type <class 'str'> is not a valid JAX type")
def linearize_of_a_string(jax, jnp):
    jax.linearize(lambda x: x, "a")


@case(TypeError, "Expected a callable value, got 3")
def jvp_of_a_non_callable(jax, jnp):
    jax.jvp(3, (1.0,), (1.0,))


# vmap ---------------------------------------------------------------------------------------------

_IN_AXES = (
    "vmap in_axes must be an int, None, or a tuple of entries corresponding to the positional "
    "arguments passed to the function, but got "
)
_RANK = "vmap was requested to map its argument along axis {}, which implies that its rank should "


@case(ValueError, _IN_AXES + "len(in_axes)=1, len(args)=2")
def vmap_in_axes_length(jax, jnp):
    jax.vmap(lambda x, y: x + y, in_axes=(0,))(jnp.ones(3), jnp.ones(3))


@case(TypeError, _IN_AXES + "a.")
def vmap_in_axes_string(jax, jnp):
    jax.vmap(lambda x: x, in_axes="a")(jnp.ones(3))


@case(TypeError, _IN_AXES + "1.0.")
def vmap_in_axes_float(jax, jnp):
    jax.vmap(lambda x: x, in_axes=1.0)(jnp.ones(3))


@case(TypeError, _IN_AXES + "{'x': 0}.")
def vmap_in_axes_dict(jax, jnp):
    jax.vmap(lambda x: x, in_axes={"x": 0})(jnp.ones(3))


@case(ValueError, "vmap in_axes specification must be a tree prefix of the corresponding value;")
def vmap_in_axes_structure(jax, jnp):
    jax.vmap(lambda x: x["a"], in_axes=({"b": 0},))({"a": jnp.ones(3)})


@case(ValueError, "vmap in_axes specification must be a tree prefix of the corresponding value;")
def vmap_in_axes_nested_length(jax, jnp):
    jax.vmap(lambda x: x[0] + x[1], in_axes=((0, 0, 0),))((jnp.ones(3), jnp.ones(3)))


@case(ValueError, "vmap out_axes specification must be a tree prefix of the corresponding value;")
def vmap_out_axes_structure(jax, jnp):
    jax.vmap(lambda x: (x, x), out_axes=(0,))(jnp.ones(3))


@case(ValueError, "vmap out_axes specification must be a tree prefix of the corresponding value;")
def vmap_out_axes_length(jax, jnp):
    jax.vmap(lambda x: (x, x), out_axes=(0, 0, 0))(jnp.ones(3))


@case(ValueError, "vmap got inconsistent sizes for array axes to be mapped:")
def vmap_sizes_differ(jax, jnp):
    jax.vmap(lambda x, y: x + y)(jnp.ones(3), jnp.ones(4))


@case(ValueError, "vmap got inconsistent sizes for array axes to be mapped:")
def vmap_sizes_differ_in_a_pytree(jax, jnp):
    jax.vmap(lambda x: x["a"] + x["b"])({"a": jnp.ones(3), "b": jnp.ones(4)})


@case(ValueError, "vmap got inconsistent sizes for array axes to be mapped:")
def vmap_sizes_differ_with_keywords(jax, jnp):
    jax.vmap(lambda x, y: x + y)(jnp.ones(3), y=jnp.ones(4))


@case(ValueError, "vmap got inconsistent sizes for array axes to be mapped:")
def vmap_axis_size_differs(jax, jnp):
    jax.vmap(lambda x: x, axis_size=4)(jnp.ones(3))


@case(ValueError, "at vmap out_axes, got axis spec None but output was batched on axis 0")
def vmap_out_axes_none_for_a_batched_output(jax, jnp):
    jax.vmap(lambda x: x, out_axes=None)(jnp.ones(3))


@case(ValueError, "axis 2 is out of bounds for array of dimension 1")
def vmap_out_axis_out_of_range(jax, jnp):
    jax.vmap(lambda x: x, out_axes=2)(jnp.ones(3))


@case(ValueError, _RANK.format(1))
def vmap_in_axis_out_of_range(jax, jnp):
    jax.vmap(lambda x: x, in_axes=1)(jnp.ones(3))


@case(ValueError, _RANK.format(-2))
def vmap_negative_in_axis_out_of_range(jax, jnp):
    jax.vmap(lambda x: x, in_axes=-2)(jnp.ones(3))


@case(ValueError, _RANK.format(0))
def vmap_of_a_scalar(jax, jnp):
    jax.vmap(lambda x: x)(1.0)


@case(
    ValueError,
    "vmap wrapped function must be passed at least one argument containing an array or axis_size "
    "must be specified, got empty *args=() and **kwargs={}",
)
def vmap_without_arguments(jax, jnp):
    jax.vmap(lambda: 1.0)()


@case(
    ValueError,
    "vmap must have at least one non-None value in in_axes or axis_size must be specified",
)
def vmap_nothing_mapped(jax, jnp):
    jax.vmap(lambda x: x, in_axes=None)(jnp.ones(3))


@case(TypeError, "Argument 'abc' of type <class 'str'> is not a valid JAX type")
def vmap_of_a_string(jax, jnp):
    jax.vmap(lambda x: x)("abc")


@case(TypeError, "Expected a callable value, got 3")
def vmap_of_a_non_callable(jax, jnp):
    jax.vmap(3)


@case(
    pullback.errors.TracerBoolConversionError,
    "Attempted boolean conversion of traced array with shape bool[].",
)
def vmap_python_if_on_a_batched_value(jax, jnp):
    jax.vmap(lambda x: x if x > 0 else -x)(jnp.ones(3))


@case(
    pullback.errors.ConcretizationTypeError,
    "Abstract tracer value encountered where concrete value is expected: traced array with shape "
    "float32[]",
)
def vmap_int_of_a_batched_value(jax, jnp):
    jax.vmap(lambda x: int(x))(jnp.ones(3))


# jit ----------------------------------------------------------------------------------------------

_ABSTRACT = "Abstract tracer value encountered where concrete value is expected: traced array with "


def _python_if(x):
    if x > 0:
        return x
    return -x


def _python_while(x):
    while x < 3:
        x = x + 1
    return x


def _python_range(n):
    return sum(range(n))


@case(ValueError, "Non-hashable static arguments are not supported.")
def jit_unhashable_static_argument(jax, jnp):
    jax.jit(lambda x, y: x, static_argnums=1)(1.0, [1])


@case(ValueError, "Non-hashable static arguments are not supported.")
def jit_unhashable_static_keyword(jax, jnp):
    jax.jit(lambda x, y: x, static_argnames="y")(1.0, y=[1])


@case(
    ValueError, "Jitted function has static_argnums=(3,), but only accepts 1 positional arguments."
)
def jit_static_argnums_out_of_range(jax, jnp):
    jax.jit(lambda x: x, static_argnums=3)


@case(
    ValueError, "Jitted function has static_argnums=(-3,), but only accepts 1 positional arguments."
)
def jit_negative_static_argnums_out_of_range(jax, jnp):
    jax.jit(lambda x: x, static_argnums=-3)


@case(
    ValueError,
    "Jitted function has invalid argnames {'y'} in static_argnames. Function does not take these "
    "args.",
)
def jit_unknown_static_argnames(jax, jnp):
    jax.jit(lambda x: x, static_argnames="y")


@case(TypeError, "Error interpreting argument to <function ", upto="as an abstract array.")
def jit_of_a_string(jax, jnp):
    jax.jit(lambda x: x)("hello")


@case(TypeError, "Error interpreting argument to <function ", upto="as an abstract array.")
def jit_of_an_object(jax, jnp):
    jax.jit(lambda x: x)(object())


@case(TypeError, "Error interpreting argument to <function ", upto="as an abstract array.")
def jit_of_a_string_in_a_dict(jax, jnp):
    def g(x):
        return x

    jax.jit(g)({"a": "hello"})


@case(TypeError, "Expected a callable value, got 3")
def jit_of_a_non_callable(jax, jnp):
    jax.jit(3)


@case(
    pullback.errors.TracerBoolConversionError,
    "Attempted boolean conversion of traced array with shape bool[].",
)
def jit_python_if(jax, jnp):
    jax.jit(_python_if)(1.0)


@case(
    pullback.errors.TracerBoolConversionError,
    "Attempted boolean conversion of traced array with shape bool[].",
)
def jit_python_while(jax, jnp):
    jax.jit(_python_while)(1.0)


@case(
    pullback.errors.TracerBoolConversionError,
    "Attempted boolean conversion of traced array with shape bool[].",
)
def jit_python_if_under_grad(jax, jnp):
    jax.grad(jax.jit(_python_if))(1.0)


@case(
    ValueError,
    "The truth value of an array with more than one element is ambiguous. Use a.any() or a.all()",
)
def jit_bool_of_a_vector(jax, jnp):
    jax.jit(lambda x: bool(x))(jnp.ones(3))


@case(
    ValueError,
    "The truth value of an empty array is ambiguous. Use `array.size > 0` to check that an array "
    "is not empty.",
)
def jit_bool_of_an_empty_array(jax, jnp):
    jax.jit(lambda x: bool(x))(jnp.ones(0))


@case(pullback.errors.ConcretizationTypeError, _ABSTRACT + "shape float32[]")
def jit_int_of_a_traced_value(jax, jnp):
    jax.jit(lambda x: int(x))(1.0)


@case(pullback.errors.ConcretizationTypeError, _ABSTRACT + "shape float32[]")
def jit_float_of_a_traced_value(jax, jnp):
    jax.jit(lambda x: float(x))(1.0)


@case(pullback.errors.ConcretizationTypeError, _ABSTRACT + "shape float32[]")
def jit_item_of_a_traced_value(jax, jnp):
    jax.jit(lambda x: x.item())(1.0)


@case(pullback.errors.ConcretizationTypeError, _ABSTRACT + "shape float32[2]")
def jit_tolist_of_a_traced_value(jax, jnp):
    jax.jit(lambda x: x.tolist())(jnp.ones(2))


@case(
    pullback.errors.TracerIntegerConversionError,
    "The __index__() method was called on traced array with shape int32[]",
)
def jit_range_of_a_traced_value(jax, jnp):
    jax.jit(_python_range)(3)


@case(
    pullback.errors.TracerArrayConversionError,
    "The numpy.ndarray conversion method __array__() was called on traced array with shape "
    "float32[3]",
)
def jit_numpy_array_of_a_traced_value(jax, jnp):
    jax.jit(lambda x: np.asarray(x))(jnp.ones(3))


@case(pullback.errors.UnexpectedTracerError, "Encountered an unexpected tracer.")
def jit_leaked_tracer(jax, jnp):
    box = []
    jax.jit(lambda x: box.append(x) or x)(1.0)
    box[0] + 1


@case(pullback.errors.UnexpectedTracerError, "Encountered an unexpected tracer.")
def jit_leaked_tracer_in_an_operation(jax, jnp):
    box = []
    jax.jit(lambda x: box.append(x) or x)(1.0)
    jnp.sin(box[0])


@case(
    TypeError,
    "the function <lambda> for jit returned 'label' of type <class 'str'> at output, which is not "
    "a valid JAX type",
    jax_gap="the message is pullback._interp.stage's (JAX: \"function <lambda> at FILE:LINE "
    "traced for jit returned a value of type <class 'str'>, which is not a valid JAX type\")",
)
def jit_returns_a_string(jax, jnp):
    jax.jit(lambda x: "label")(1.0)


@case(IndexError, "Slice entries must be static integers. Got slice(None, ")
def jit_slice_with_a_traced_bound(jax, jnp):
    jax.jit(lambda x, i: x[:i])(jnp.ones(3), 2)


# -- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_pullback_leads_with_jax_wording(name):
    c = CASES[name]
    err = _raised(c.misuse, pullback, pnp)
    assert type(err) is c.error, (type(err), str(err))
    assert str(err).startswith(c.lead), str(err)


def _jax_params():
    for name, c in CASES.items():
        marks = [pytest.mark.xfail(strict=True, reason=c.jax_gap)] if c.jax_gap else []
        yield pytest.param(name, marks=marks)


@pytest.mark.parametrize("name", list(_jax_params()))
def test_jax_raises_the_same(name, real):
    c = CASES[name]
    ours = _raised(c.misuse, pullback, pnp)
    theirs = _raised(c.misuse, real, real.numpy)
    public = _public_type(type(theirs))
    if public.__module__ == "jax.errors":
        assert isinstance(ours, getattr(pullback.errors, public.__name__)), (ours, theirs)
    else:
        assert isinstance(ours, public), (type(ours), type(theirs))
    sentence = _stable(_first_sentence(_normalize(str(theirs))), c.upto)
    assert _normalize(str(ours)).startswith(sentence), (str(ours), sentence)
    # the literal above is JAX's sentence too, as far as both go
    lead = _normalize(c.lead)
    assert lead.startswith(sentence) or sentence.startswith(lead), (lead, sentence)


# -- where pullback deliberately differs (docs/differences.md) ------------------------------------


@dataclasses.dataclass
class Difference:
    misuse: object
    doc: str  # the words of docs/differences.md that list the case
    jax: tuple | None  # (type name, start of the message) JAX raises, or None: JAX runs it
    ours: tuple | None  # (type, start of the message) pullback raises, or None: pullback runs it


DIFFERENCES = {}


def difference(doc, jax, ours):
    def register(misuse):
        DIFFERENCES[misuse.__name__] = Difference(misuse, doc, jax, ours)
        return misuse

    return register


@difference(
    "## Forward mode over `custom_vjp` works",
    ("TypeError", "can't apply forward-mode autodiff (jvp) to a custom_vjp function."),
    None,
)
def forward_mode_over_custom_vjp(jax, jnp):
    jax.jvp(
        _sine(jax, jnp, lambda x: (jnp.sin(x), x), lambda r, g: (jnp.cos(r) * g,)), (1.0,), (1.0,)
    )


@difference("### Keyword-only parameters work", ("TypeError", _BIND), None)
def custom_vjp_keyword_only_argument(jax, jnp):
    @jax.custom_vjp
    def f(x, *, p=2.0):
        return x**p

    f.defvjp(lambda x, *, p=2.0: (x**p, x), lambda r, g: (g,))
    f(1.0, p=3.0)


_NONDIFF_TRACER = (
    "Found a JAX Tracer object passed as an argument to a custom_vjp function in a position "
    "indicated by nondiff_argnums as non-differentiable."
)


def _scaled(jax):
    @functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
    def f(x, n):
        return x * n

    f.defvjp(lambda x, n: (x * n, None), lambda n, r, g: (g * n,))
    return f


@difference(
    "A value traced by `jit` or `vmap` but not differentiated may be passed in a `nondiff_argnums`",
    ("UnexpectedTracerError", _NONDIFF_TRACER),
    None,
)
def custom_vjp_traced_nondiff_argument_under_jit(jax, jnp):
    jax.jit(lambda x, n: _scaled(jax)(x, n))(1.0, 2.0)


@difference(
    "A value traced by `jit` or `vmap` but not differentiated may be passed in a `nondiff_argnums`",
    ("UnexpectedTracerError", _NONDIFF_TRACER),
    None,
)
def custom_vjp_traced_nondiff_argument_under_vmap(jax, jnp):
    jax.vmap(lambda x, n: _scaled(jax)(x, n))(jnp.ones(3), jnp.arange(3.0))


@difference(
    "a value being differentiated that is passed in a `nondiff_argnums` position",
    ("UnexpectedTracerError", _NONDIFF_TRACER),
    (
        pullback.errors.CustomVJPException,
        "custom_vjp function f: argument 'n' (position 1) is being differentiated, but it is in "
        "nondiff_argnums",
    ),
)
def custom_vjp_differentiated_nondiff_argument(jax, jnp):
    jax.grad(lambda n: _scaled(jax)(1.0, n))(2.0)


@difference(
    "### An integer or boolean cotangent for a floating-point argument is an error",
    None,
    (
        TypeError,
        "Custom VJP bwd rule <lambda> of f: argument 'x': got int32[], expected float32[].",
    ),
)
def custom_vjp_integer_cotangent(jax, jnp):
    jax.grad(_sine(jax, jnp, lambda x: (jnp.sin(x), x), lambda r, g: (jnp.int32(1),)))(1.0)


@difference(
    "A single array returned by `bwd` for a pytree argument",
    None,
    (TypeError, _BWD_STRUCTURE + "PyTreeSpec((*,)) for primal input structure"),
)
def custom_vjp_one_array_for_a_dict(jax, jnp):
    @jax.custom_vjp
    def f(p):
        return p["a"] * p["b"]

    f.defvjp(lambda p: (f(p), p), lambda r, g: (g,))
    jax.grad(f)({"a": 1.0, "b": 2.0})


@difference(
    "`nondiff_argnums` naming a position the call does not have raises `ValueError`",
    ("IndexError", "tuple index out of range"),
    (
        ValueError,
        "custom_vjp function f: nondiff_argnums contains 3, but the call has only 2 positional "
        "arguments.",
    ),
)
def custom_vjp_nondiff_argnums_out_of_range(jax, jnp):
    @functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
    def f(x, y):
        return x * y

    f.defvjp(lambda x, y: (x * y, (x, y)), lambda r, g: (g, g))
    f(1.0, 2.0)


@difference(
    "`nondiff_argnums` naming a position the call does not have raises `ValueError`",
    ("IndexError", "tuple index out of range"),
    (
        ValueError,
        "custom_jvp function f: nondiff_argnums contains 3, but the call has only 2 positional "
        "arguments.",
    ),
)
def custom_jvp_nondiff_argnums_out_of_range(jax, jnp):
    @functools.partial(jax.custom_jvp, nondiff_argnums=(3,))
    def f(x, y):
        return x * y

    f.defjvp(lambda p, t: (p[0] * p[1], t[0]))
    f(1.0, 2.0)


@difference(
    "`jvp` accepts primals and tangents given in different sequence types",
    ("TypeError", "primal and tangent arguments to jax.jvp must have the same tree structure;"),
    None,
)
def jvp_list_and_tuple(jax, jnp):
    jax.jvp(lambda x: x, [1.0], (1.0,))


@difference(
    "JAX's `jvp` raises whatever unpacking the output raises",
    ("TypeError", "iteration over a 0-d array"),
    (TypeError, _AUX),
)
def jvp_has_aux_without_a_pair(jax, jnp):
    jax.jvp(lambda x: x, (1.0,), (1.0,), has_aux=True)


@difference(
    "**Static arguments must be passed.**",
    None,
    (ValueError, "jit of f: static_argnums contains 1, but the call has only 1 positional"),
)
def jit_static_argument_left_to_its_default(jax, jnp):
    def f(x, y=2.0):
        return x * y

    jax.jit(f, static_argnums=1)(1.0)


_DIFFERENCES_MD = pathlib.Path(__file__).parent.parent / "docs" / "differences.md"


def _outcome(misuse, jax, jnp):
    """None if ``misuse`` runs, else the exception it raises."""
    try:
        misuse(jax, jnp)
    except Exception as e:
        return e
    return None


@pytest.mark.parametrize("name", list(DIFFERENCES))
def test_pullback_side_of_a_documented_difference(name):
    d = DIFFERENCES[name]
    text = " ".join(_DIFFERENCES_MD.read_text().split())
    assert " ".join(d.doc.split()) in text, d.doc
    err = _outcome(d.misuse, pullback, pnp)
    if d.ours is None:
        assert err is None, err
    else:
        assert type(err) is d.ours[0], (type(err), str(err))
        assert str(err).startswith(d.ours[1]), str(err)


@pytest.mark.parametrize("name", list(DIFFERENCES))
def test_jax_side_of_a_documented_difference(name, real):
    d = DIFFERENCES[name]
    err = _outcome(d.misuse, real, real.numpy)
    if d.jax is None:
        assert err is None, err
    else:
        assert type(err).__name__ == d.jax[0], (type(err), str(err))
        assert str(err).startswith(d.jax[1]), str(err)

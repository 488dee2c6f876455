"""Wrapping a SciPy routine with a custom derivative rule.

SciPy computes on NumPy arrays and knows nothing about differentiation. Wrapped in a
``custom_vjp`` function, a SciPy routine becomes differentiable: ``fun`` converts its input to
NumPy, calls SciPy and converts back; ``bwd`` supplies the derivative, here from SciPy as well.

* ``erf`` (``scipy.special.erf``): the derivative is ``2 / sqrt(pi) * exp(-x**2)``.
* ``expm`` (``scipy.linalg.expm``, the matrix exponential): the cotangent for ``A`` given the
  output cotangent ``G`` is the Frechet derivative of ``expm`` at ``A.T`` in the direction ``G``,
  which ``scipy.linalg.expm_frechet`` computes.

Both gradients are checked against central finite differences computed in float64 with SciPy
directly. The wrappers compute eagerly on concrete values: they are differentiable once, not
twice, because SciPy cannot see inside a transformation.
"""

import numpy as np
import scipy.linalg
import scipy.special

import pullback as jax
import pullback.numpy as jnp


@jax.custom_vjp
def erf(x):
    return jnp.asarray(scipy.special.erf(np.asarray(x)), dtype=jnp.asarray(x).dtype)


def erf_fwd(x):
    return erf(x), x


def erf_bwd(x, g):
    return (g * (2.0 / np.sqrt(np.pi)) * jnp.exp(-(x**2)),)


erf.defvjp(erf_fwd, erf_bwd)


@jax.custom_vjp
def expm(a):
    return jnp.asarray(scipy.linalg.expm(np.asarray(a, np.float64)), dtype=a.dtype)


def expm_fwd(a):
    return expm(a), a


def expm_bwd(a, g):
    a64 = np.asarray(a, np.float64)
    g64 = np.asarray(g, np.float64)
    a_bar = scipy.linalg.expm_frechet(a64.T, g64, compute_expm=False)
    return (jnp.asarray(a_bar, dtype=a.dtype),)


expm.defvjp(expm_fwd, expm_bwd)


def central_differences(f, x, eps=1e-6):
    """The gradient of scalar ``f`` at float64 array ``x``, one coordinate at a time."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def main():
    x = jnp.array([-1.0, 0.0, 0.5, 2.0])
    g = jax.grad(lambda x: jnp.sum(erf(x)))(x)
    fd = central_differences(lambda x: scipy.special.erf(x).sum(), np.asarray(x, np.float64))
    with jnp.printoptions(precision=5, suppress=True):
        print("erf(x):            ", erf(x))
        print("grad of sum(erf):  ", g)
    print("matches finite differences:", bool(np.allclose(g, fd, rtol=1e-5, atol=1e-6)))

    a = jnp.array([[0.0, 1.0, 0.5], [-1.0, 0.0, 0.2], [0.3, -0.2, 0.1]])
    w = jnp.array([[1.0, 2.0, 0.0], [0.5, -1.0, 1.0], [0.0, 0.0, 3.0]])

    def loss(a):
        return jnp.sum(w * expm(a))

    value, g = jax.value_and_grad(loss)(a)
    w64 = np.asarray(w, np.float64)
    fd = central_differences(
        lambda a: (w64 * scipy.linalg.expm(a)).sum(), np.asarray(a, np.float64)
    )
    print("loss:", round(float(value), 5))
    with jnp.printoptions(precision=4, suppress=True):
        print("grad of sum(w * expm(a)):")
        print(g)
    print("matches finite differences:", bool(np.allclose(g, fd, rtol=1e-4, atol=1e-5)))


if __name__ == "__main__":
    main()

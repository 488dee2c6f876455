"""Global configuration flags.

This is the lowest layer of pullback: it imports only the standard library.

Options are stored as plain instance attributes on the module-level ``config``
object, so hot paths can read e.g. ``config.jax_enable_x64`` at the cost of a
single attribute lookup. Writes go through :meth:`Config.update` (assigning the
attribute directly is routed there too), which validates the value and then
calls every hook in ``config._on_change`` with ``(name, value)``. Modules that
cache state derived from an option (``_dtypes`` caches default dtypes and
promotion results per x64 mode) register a hook there to refresh it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Config", "config", "enable_x64", "disable_x64", "disable_jit"]

_TRUE_STRINGS = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE_STRINGS = frozenset({"0", "false", "f", "no", "n", "off", ""})


def _parse_bool(name: str, value: Any) -> bool:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE_STRINGS:
            return True
        if lowered in _FALSE_STRINGS:
            return False
        raise ValueError(f"Option {name!r} expects a boolean, got the string {value!r}.")
    return bool(value)


def _env_flag(*names: str) -> bool:
    """Truthiness of the first of ``names`` that is set in the environment."""
    for env_name in names:
        raw = os.environ.get(env_name)
        if raw is not None:
            return raw.strip().lower() in _TRUE_STRINGS
    return False


_RANK_PROMOTION_MODES = ("allow", "warn", "raise")


def _check_rank_promotion(name: str, value: Any) -> str:
    if value not in _RANK_PROMOTION_MODES:
        raise ValueError(
            f"Option {name!r} must be one of {', '.join(map(repr, _RANK_PROMOTION_MODES))}; "
            f"got {value!r}."
        )
    return value


# name -> (validator, default factory). Defaults are evaluated when a Config is
# constructed so that the environment is read at import time of this module.
_OPTIONS: dict[str, tuple[Callable[[str, Any], Any], Callable[[], Any]]] = {
    "jax_enable_x64": (
        _parse_bool,
        lambda: _env_flag("PULLBACK_ENABLE_X64", "JAX_ENABLE_X64"),
    ),
    "jax_disable_bwd_checks": (_parse_bool, lambda: False),
    "jax_disable_jit": (_parse_bool, lambda: _env_flag("PULLBACK_DISABLE_JIT", "JAX_DISABLE_JIT")),
    "jax_numpy_rank_promotion": (_check_rank_promotion, lambda: "allow"),
}


class Config:
    """Holds pullback's global options, named after their JAX counterparts.

    Options:
      * ``jax_enable_x64``: allow 64-bit dtypes. Off by default, in which case
        64-bit requests are narrowed to 32 bits. The default can be switched on
        with the environment variable ``PULLBACK_ENABLE_X64`` (or, failing that,
        ``JAX_ENABLE_X64``) set to a truthy value such as ``1`` or ``true``.
      * ``jax_disable_bwd_checks``: skip the checks on values returned by
        custom backward rules.
      * ``jax_disable_jit``: run ``jit``-decorated functions eagerly (for debugging; also the
        ``disable_jit()`` context manager and the ``JAX_DISABLE_JIT`` environment variable).
      * ``jax_numpy_rank_promotion``: ``"allow"``, ``"warn"`` or ``"raise"`` on
        implicit rank promotion in ``pullback.numpy`` broadcasting.
    """

    jax_enable_x64: bool
    jax_disable_bwd_checks: bool
    jax_disable_jit: bool
    jax_numpy_rank_promotion: str

    def __init__(self) -> None:
        object.__setattr__(self, "_on_change", [])
        for name, (_, default) in _OPTIONS.items():
            object.__setattr__(self, name, default())

    # Hooks called as hook(name, value) after every successful update.
    _on_change: list[Callable[[str, Any], None]]

    @staticmethod
    def _unknown(name: str) -> ValueError:
        known = ", ".join(sorted(_OPTIONS))
        return ValueError(f"Unknown config option {name!r}; known options are: {known}.")

    def update(self, name: str, value: Any) -> None:
        """Set option ``name`` to ``value`` and notify the change hooks."""
        try:
            validate, _ = _OPTIONS[name]
        except (KeyError, TypeError):
            raise self._unknown(name) from None
        value = validate(name, value)
        object.__setattr__(self, name, value)
        for hook in list(self._on_change):
            hook(name, value)

    def read(self, name: str) -> Any:
        """Current value of option ``name``."""
        if name not in _OPTIONS:
            raise self._unknown(name)
        return getattr(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        # Route plain assignment through update() so hooks always fire.
        if name in _OPTIONS:
            self.update(name, value)
        else:
            raise AttributeError(
                f"Cannot set {name!r} on the config object; known options are: "
                f"{', '.join(sorted(_OPTIONS))}."
            )

    @property
    def values(self) -> dict[str, Any]:
        """A snapshot of all options as a dict."""
        return {name: getattr(self, name) for name in _OPTIONS}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"Config({inner})"


config = Config()


@contextlib.contextmanager
def enable_x64(new_val: bool = True) -> Iterator[None]:
    """Temporarily set ``jax_enable_x64`` to ``new_val`` (restored on exit)."""
    old = config.jax_enable_x64
    config.update("jax_enable_x64", new_val)
    try:
        yield
    finally:
        config.update("jax_enable_x64", old)


@contextlib.contextmanager
def disable_x64() -> Iterator[None]:
    """Temporarily switch ``jax_enable_x64`` off (restored on exit)."""
    with enable_x64(False):
        yield


@contextlib.contextmanager
def disable_jit(disable: bool = True) -> Iterator[None]:
    """Run ``jit``-decorated functions eagerly inside the block (restored on exit).

    >>> import pullback as jax
    >>> with jax.disable_jit():
    ...     print(jax.jit(lambda x: float(x) + 1)(1.0))
    2.0
    """
    old = config.jax_disable_jit
    config.update("jax_disable_jit", disable)
    try:
        yield
    finally:
        config.update("jax_disable_jit", old)

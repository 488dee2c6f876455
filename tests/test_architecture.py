"""The layering of docs/architecture.md, checked on the source with ``ast``."""

import ast
import pathlib

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "pullback"

# lower rank = lower layer; a module may import only modules of lower or equal rank
RANKS = {
    "pullback._config": 0,
    "pullback._dtypes": 1,
    "pullback.tree_util": 2,
    "pullback.tree": 3,
    "pullback._core": 4,
    "pullback._ir": 4.5,
    "pullback._ops": 5,
    "pullback._interp": 6,
    "pullback._interp.jvp": 6,
    "pullback._compile": 6.5,
    "pullback._hop": 7,
    "pullback._hop.forward": 7,
    "pullback._hop.custom_jvp": 7,
    "pullback._api": 8,
    "pullback.numpy": 9,
    "pullback.random": 9.5,
    "pullback.lax": 10,
    "pullback.nn": 10,
    "pullback.scipy": 10,
    "pullback.flatten_util": 10,
    "pullback.debug": 10,
    "pullback.example_libraries": 10.5,
    "pullback.custom_batching": 10,
    "pullback.custom_derivatives": 10,
    "pullback.dtypes": 10,
    "pullback.test_util": 10,
    "pullback.experimental": 10,
    "pullback.errors": 10,
    "pullback": 11,
}


def _module_name(path):
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _rank(module):
    best = None
    for prefix, rank in RANKS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best[0])
        ):
            best = (prefix, rank)
    return best


def _modules():
    return sorted(SRC.rglob("*.py"))


def _imports(tree, module):
    package = module if module.count(".") == 0 else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            yield node, name
            for alias in node.names:
                yield node, f"{name}.{alias.name}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_go_downward(path):
    module = _module_name(path)
    own = _rank(module)
    assert own is not None, f"{module} has no layer in RANKS; add it (and to the docs)"
    tree = ast.parse(path.read_text())
    for _, name in _imports(tree, module):
        if not name.startswith("pullback"):
            continue
        target = _rank(name)
        if target is None or name in (module, "pullback"):
            continue
        assert target[1] <= own[1], (
            f"{module} (layer {own[0]}) imports {name} (layer {target[0]}), a higher layer"
        )
        if own[0] == target[0] == "pullback._interp":
            assert name.startswith(module), f"interpreter {module} imports interpreter {name}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_function_local_imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                assert not isinstance(inner, (ast.Import, ast.ImportFrom)), (
                    f"{path.name}:{inner.lineno}: import inside function {node.name}"
                )


def test_library_never_imports_jax():
    for path in _modules():
        tree = ast.parse(path.read_text())
        for _, name in _imports(tree, _module_name(path)):
            assert not (name == "jax" or name.startswith("jax.")), f"{path} imports {name}"

"""The hook API stays honest: every hook documented with its exact signature, and tested."""
import ast
import inspect
import re
from pathlib import Path

import pytest

from core import hookspecs

ROOT = Path(__file__).resolve().parent.parent
HOOKS = sorted(
    name for name, value in vars(hookspecs).items()
    if inspect.isfunction(value) and hasattr(value, "palier_spec")
)


def documented_signatures() -> dict[str, str]:
    text = (ROOT / "docs" / "plugin-hooks.md").read_text(encoding="utf-8")
    return {name: signature
            for signature, name in re.findall(r"^### `((\w+)\([^`]*\))`", text, flags=re.M)}


def hooks_with_a_test() -> set[str]:
    tree = ast.parse((ROOT / "tests" / "test_hooks.py").read_text(encoding="utf-8"))
    return {node.name.removeprefix("test_hook_") for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_hook_")}


def test_there_are_hooks():
    assert len(HOOKS) >= 14


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented_with_its_exact_signature(name):
    spec = getattr(hookspecs, name)
    expected = f"{name}{inspect.signature(spec)}"
    assert documented_signatures().get(name) == expected, (
        f"docs/plugin-hooks.md must have a heading ### `{expected}`")
    assert spec.__doc__ and len(spec.__doc__.strip()) > 40, f"{name} needs a docstring"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_test_of_its_own(name):
    assert name in hooks_with_a_test(), f"tests/test_hooks.py needs test_hook_{name}"


def test_no_documented_hook_is_missing_from_the_code():
    assert set(documented_signatures()) <= set(HOOKS)

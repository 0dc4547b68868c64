"""The method registry: one spec per method, everything else asks it (and names no method)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kms_connect
from kms_connect.core.check_steps import TITLES
from kms_connect.core.methods import SPECS, Method
from kms_connect.core.methods.spec import TOKEN_STEP
from kms_connect.ui.forms.base import ConnectionForm, method_forms
from kms_connect.ui.modals.method_picker import MethodPickerModal
from kms_connect.ui.screens.connections import form_class

PKG_DIR = Path(kms_connect.__file__).parent
# Where a specific method may be named: the registry and its specs, the forms, the demo.
MAY_NAME_METHODS = ("core/methods/", "ui/forms/", "demo.py")
SPEC_MODULES = {f"kms_connect.core.methods.{p.stem}" for p in (PKG_DIR / "core/methods").glob("*.py")} - {
    "kms_connect.core.methods.__init__",
    "kms_connect.core.methods.registry",
    "kms_connect.core.methods.spec",
}


def test_each_method_has_one_spec_in_the_registrys_order() -> None:
    assert [m.value for m in Method] == [s.value for s in SPECS]
    assert [m.spec for m in Method] == list(SPECS)
    assert len({s.label for s in SPECS}) == len(SPECS)


@pytest.mark.parametrize("method", list(Method), ids=lambda m: m.value)
def test_a_spec_holds_together(method: Method) -> None:
    spec = method.spec
    assert len(spec.short_label) <= 6  # the Method column at 80 columns
    assert all(step in TITLES for step in spec.check_steps)
    # It authenticates to Azure DevOps one way: an Entra token, or a secret sent as a PAT.
    assert (spec.token is None) != (spec.pat_secret is None)
    assert (TOKEN_STEP in spec.check_steps) == (spec.token is not None)
    if spec.pat_secret is not None:
        assert spec.pat_secret in spec.secrets
    keys = [f.key for f in spec.fields]
    assert len(keys) == len(set(keys)) and "org_name" in keys
    assert all(f.key in spec.secrets for f in spec.fields if f.secret)  # a masked field is kept as a secret
    assert "org_name" in spec.kms_fields


@pytest.mark.parametrize("method", list(Method), ids=lambda m: m.value)
def test_each_method_has_one_form(method: Method) -> None:
    forms = [cls for cls in method_forms().values() if cls.METHOD is method]
    assert len(forms) == 1 and form_class(method) is forms[0]
    assert issubclass(forms[0], ConnectionForm)
    assert forms[0].__module__.startswith("kms_connect.ui.forms.")


def test_the_pickers_number_keys_come_from_the_registry() -> None:
    numbers = [b for b in MethodPickerModal.BINDINGS if b.id and b.id[len("picker.") :].isdigit()]
    assert [(b.key, b.id, b.description) for b in numbers] == [
        (str(n), f"picker.{n}", method.label) for n, method in enumerate(Method, start=1)
    ]
    # `n` picks the registry's n-th method.
    assert [b.action for b in numbers] == [f"pick({n})" for n in range(len(SPECS))]
    assert tuple(Method) == MethodPickerModal.METHODS


def _names_a_method(tree: ast.AST) -> list[str]:
    members, values = set(Method.__members__), {m.value for m in Method}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "Method" and node.attr in members:
                found.append(f"line {node.lineno}: Method.{node.attr}")
        elif isinstance(node, ast.Constant) and node.value in values:
            found.append(f"line {node.lineno}: {node.value!r}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            named = {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            if named & SPEC_MODULES:
                found.append(f"line {node.lineno}: imports {node.module}")
        elif isinstance(node, ast.Import) and {a.name for a in node.names} & SPEC_MODULES:
            found.append(f"line {node.lineno}: imports a method's spec")
    return found


def test_no_module_outside_the_registry_forms_and_demo_names_a_method() -> None:
    """Adding a method touches its spec, its form, the simulators and its tests: nothing else knows it."""
    assert SPEC_MODULES  # the scan knows what a spec module is
    offenders = {}
    for path in sorted(PKG_DIR.rglob("*.py")):
        where = path.relative_to(PKG_DIR).as_posix()
        if where.startswith(MAY_NAME_METHODS):
            continue
        found = _names_a_method(ast.parse(path.read_text(), filename=where))
        if found:
            offenders[where] = found
    assert not offenders, offenders


def test_the_scan_sees_a_method_named() -> None:
    assert _names_a_method(ast.parse("x = Method.OAUTH"))
    assert _names_a_method(ast.parse("if m == 'access-token': pass"))
    assert _names_a_method(ast.parse("from kms_connect.core.methods.client_secret import SPEC"))
    assert _names_a_method(ast.parse("from kms_connect.core.methods import oauth"))
    assert not _names_a_method(ast.parse("x = method.spec.label; from kms_connect.core.methods import Method"))

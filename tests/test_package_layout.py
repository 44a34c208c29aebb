"""The package's three layers import only downward: tools <- lab <- book.

``companion.tools`` may import only itself (and ``companion._quiet``, through which
TensorFlow starts quietly); ``companion.lab`` may import tools and itself; ``companion.book``
anything in the package. Imports inside functions count too.
"""

import ast
import pathlib
import re

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "companion"
ALLOWED = {
    "tools": {"_quiet", "tools"},
    "lab": {"_quiet", "tools", "lab"},
    "book": {"_quiet", "tools", "lab", "book"},
}
MODULES = sorted(path for layer in ALLOWED for path in (PACKAGE / layer).glob("*.py")
                 if path.stem != "__init__")


def companion_imports(path):
    """The first component under ``companion`` of every companion import in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module + "." + alias.name if node.module == "companion"
                     else node.module for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError(f"{path.name}: relative import; use absolute ones")
        else:
            continue
        found += [name.split(".")[1] for name in names
                  if name.startswith("companion.")]
    return found


def test_the_three_layers_hold_modules():
    for layer in ALLOWED:
        assert len(list((PACKAGE / layer).glob("*.py"))) >= 3, layer
    flat = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert flat == ["__init__.py", "__main__.py", "_quiet.py"], flat


@pytest.mark.parametrize("path", MODULES, ids=[f"{p.parent.name}/{p.name}" for p in MODULES])
def test_imports_point_downward(path):
    layer = path.parent.name
    wrong = sorted(set(companion_imports(path)) - ALLOWED[layer])
    assert wrong == [], f"companion/{layer}/{path.name} imports {wrong}, above its layer"


def test_the_checker_sees_function_level_imports(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from companion.book.claims import claim\n")
    assert companion_imports(source) == ["book"]


@pytest.mark.parametrize("path", MODULES, ids=[f"{p.parent.name}/{p.name}" for p in MODULES])
def test_every_module_has_a_test_file_named_after_it(path):
    tests = pathlib.Path(__file__).resolve().parent
    assert (tests / f"test_{path.stem}.py").is_file(), \
        f"companion/{path.parent.name}/{path.name} has no tests/test_{path.stem}.py"


def test_every_flat_name_is_its_modules_object():
    import importlib
    import json

    import companion
    from companion.lab import initialization

    modules = [importlib.import_module(f"companion.{path.parent.name}.{path.stem}")
               for path in MODULES]
    for name in companion.__all__:
        owners = [module for module in modules if name in getattr(module, "__all__", ())
                  or (not hasattr(module, "__all__") and hasattr(module, name))]
        value = getattr(companion, name)
        assert any(getattr(module, name, None) is value for module in owners) \
            or name == "NAMED_INITIALIZERS", f"cp.{name} is no module's {name}"
    assert companion.NAMED_INITIALIZERS is initialization.NAMED
    # every cp.<name> a chapter calls is a public name (__all__ is built from a mapping)
    book = PACKAGE.parent / "book"
    used = set()
    for notebook in book.glob("*.ipynb"):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        used |= {name for cell in cells if cell["cell_type"] == "code"
                 for name in re.findall(r"\bcp\.(\w+)", "".join(cell["source"]))}
    assert len(used) > 50 and used <= set(companion.__all__), sorted(used - set(companion.__all__))
    assert set(companion.__all__) | {"tools", "lab", "book"} <= set(dir(companion))
    assert companion.lab.transfer.fine_tune is companion.fine_tune  # layers, modules included
    with pytest.raises(AttributeError, match="no attribute 'build_mpl'"):
        companion.build_mpl

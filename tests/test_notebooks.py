"""Every chapter notebook is stored clean (no outputs) and starts with the Colab install
cell, then the set-up cell."""

import json
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NOTEBOOKS = sorted(
    path for path in BOOK.rglob("*.ipynb")
    if not any(part.startswith((".", "_build")) for part in path.relative_to(BOOK).parts)
) if BOOK.is_dir() else []


def test_every_notebook_is_collected():
    on_disk = list(BOOK.glob("*.ipynb")) if BOOK.is_dir() else []
    assert set(on_disk) <= set(NOTEBOOKS)
    if on_disk:
        assert NOTEBOOKS


def _code_cells(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert notebook.get("nbformat") == 4, f"{path.name}: not an nbformat-4 notebook"
    return [cell for cell in notebook["cells"] if cell.get("cell_type") == "code"]


def _source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(BOOK)) for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    cells = _code_cells(path)
    assert cells, f"{path.name} has no code cell"
    dirty = [i for i, cell in enumerate(cells)
             if cell.get("outputs") or cell.get("execution_count") is not None]
    assert dirty == [], f"{path.name}: code cells {dirty} carry outputs or execution counts"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(BOOK)) for p in NOTEBOOKS])
def test_first_code_cell_installs_the_companion_on_colab(path):
    # The cell comes from repository.url in _config.yml, the one place the repository is
    # configured; `make colab-cells` (python -m companion.book.colab) rewrites it.
    from companion.book.colab import install_cell_source, repository_settings

    first = _code_cells(path)[0]
    expected = install_cell_source(*repository_settings(ROOT / "_config.yml"))
    assert _source(first) == expected, (f"{path.name}: the first code cell is not the Colab "
                                        "install cell of _config.yml; run make colab-cells")
    assert "remove-cell" in first.get("metadata", {}).get("tags", []), \
        f"{path.name}: the install cell must be hidden on the site (tag remove-cell)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(BOOK)) for p in NOTEBOOKS])
def test_second_code_cell_sets_up_companion(path):
    setup = _source(_code_cells(path)[1])
    assert "import companion as cp" in setup, f"{path.name}: set-up cell lacks the import"
    assert "cp.setup(" in setup, f"{path.name}: set-up cell does not call cp.setup("


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(BOOK)) for p in NOTEBOOKS])
def test_companion_is_imported_before_tensorflow(path):
    # importing companion makes TensorFlow's start-up (whichever import starts it) silent;
    # importing keras or tensorflow first would print its messages into the page. The
    # install cell before it imports only the standard library.
    install, setup = (_source(cell).splitlines() for cell in _code_cells(path)[:2])
    install_imports = [line.split()[1] for line in install
                       if line.strip().startswith(("import ", "from "))]
    assert all(name.split(".")[0] in sys.stdlib_module_names for name in install_imports), \
        f"{path.name}: the install cell imports {install_imports}"
    imports = [line for line in setup if line.startswith(("import ", "from "))]
    assert imports and imports[0].startswith("import companion as cp"), \
        f"{path.name}: the first import must be `import companion as cp`, got {imports[:1]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(BOOK)) for p in NOTEBOOKS])
def test_every_figure_has_a_caption_and_alt_text(path):
    missing = []
    for index, cell in enumerate(_code_cells(path)):
        if "fig = " not in _source(cell):
            continue
        meta = cell.get("metadata", {}).get("mystnb", {})
        if not (meta.get("figure", {}).get("caption") and meta.get("figure", {}).get("name")
                and meta.get("image", {}).get("alt")):
            missing.append(index)
    assert missing == [], (f"{path.name}: code cells {missing} draw a figure without "
                           "mystnb figure caption/name and image alt metadata")

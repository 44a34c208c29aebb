"""The order in which make test's workers take the test files (tests/conftest.py)."""
import types

import conftest
from conftest import notebooks_first


def items(*nodeids):
    return [types.SimpleNamespace(nodeid=nodeid) for nodeid in nodeids]


def test_notebooks_come_first_then_files_by_their_number_of_tests():
    given = items("tests/test_a.py::t1", "book/02.ipynb::Cell 0", "tests/test_b.py::t1",
                  "tests/test_b.py::t2", "book/01.ipynb::Cell 0", "book/02.ipynb::Cell 1",
                  "companion/x.py::companion.x.f", "book/01.ipynb::Cell 1",
                  "book/01.ipynb::Cell 2")
    ordered = [item.nodeid for item in notebooks_first(given)]
    assert ordered == ["book/01.ipynb::Cell 0", "book/01.ipynb::Cell 1", "book/01.ipynb::Cell 2",
                       "book/02.ipynb::Cell 0", "book/02.ipynb::Cell 1",
                       "tests/test_b.py::t1", "tests/test_b.py::t2",
                       "tests/test_a.py::t1", "companion/x.py::companion.x.f"]


def test_the_same_tests_come_out_each_once():
    given = items("b.py::x", "a.ipynb::Cell 0", "b.py::y", "c.py::z")
    out = notebooks_first(given)
    assert sorted(map(id, out)) == sorted(map(id, given))


def test_equal_files_keep_pytests_order():
    given = items("tests/test_z.py::t", "tests/test_a.py::t", "book/b.ipynb::Cell 0",
                  "book/a.ipynb::Cell 0")
    assert [item.nodeid for item in notebooks_first(given)] == [
        "book/b.ipynb::Cell 0", "book/a.ipynb::Cell 0", "tests/test_z.py::t", "tests/test_a.py::t"]


def test_the_collection_hook_puts_that_order_in_place():
    given = items("tests/test_a.py::t", "book/a.ipynb::Cell 0")
    collected = list(given)
    conftest.pytest_collection_modifyitems(None, collected)
    assert collected == [given[1], given[0]]

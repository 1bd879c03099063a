"""Helpers the project's tests share, as Hypothesis' ``tests/common``.

* ``files``: fresh paths and data files under a test's own folder.
* ``checks``: test bodies that more than one area runs (a FIFO refused, a failed flush that sticks).
* ``wrappers``: the reference as an implementation under test, for mutants and defective implementations.

The installed numpy's version is ``memmapref.testing.versions.NUMPY`` (the suite needs it too).
Importable as ``common`` because pytest puts ``tests/`` on ``sys.path`` (rootdir conftest).
"""

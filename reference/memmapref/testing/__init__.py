"""memmapref.testing: the conformance suite for file-backed arrays.

Other projects import it the way pandas' extension tests are imported: run
``memmapref check --impl yourmodule:impl``, or subclass the test classes in
``memmapref.testing.suite`` inside your own pytest run.
"""

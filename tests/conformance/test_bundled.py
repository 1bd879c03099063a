"""The conformance suite against every bundled implementation (or those named with ``--impl``)."""

from memmapref.testing.collected import *  # noqa: F403 -- the Test* classes are what pytest collects

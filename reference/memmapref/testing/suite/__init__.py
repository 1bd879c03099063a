"""The suite's test classes, one module per behaviour area.

Subclass them with a ``Test`` prefix in your own test module and provide an
``impl`` fixture (a :class:`memmapref.testing.protocol.Adapter`), or load
``memmapref.testing.plugin`` and pass ``--impl MODULE:ATTR``::

    from memmapref.testing.suite import CreateTests

    class TestCreate(CreateTests):
        pass
"""

from .create import CreateTests
from .durability import DurabilityTests
from .errors import ErrorTests
from .faults import FaultTests
from .handle import HandleTests
from .machine import StateMachineTests
from .readwrite import CopyOnWriteTests, ReadWriteTests
from .reductions import ReductionTests
from .reopen import ReopenTests

__all__ = [
    "CopyOnWriteTests",
    "CreateTests",
    "DurabilityTests",
    "ErrorTests",
    "FaultTests",
    "HandleTests",
    "ReadWriteTests",
    "ReductionTests",
    "ReopenTests",
    "StateMachineTests",
]

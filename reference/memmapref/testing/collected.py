"""Every suite class under a collectable name: ``memmapref check`` runs this module."""

from __future__ import annotations

from .suite import (
    CopyOnWriteTests,
    CreateTests,
    DurabilityTests,
    ErrorTests,
    FaultTests,
    HandleTests,
    ReadWriteTests,
    ReductionTests,
    ReopenTests,
    StateMachineTests,
)


class TestCreate(CreateTests):
    pass


class TestReopenReadOnly(ReopenTests):
    pass


class TestReadWrite(ReadWriteTests):
    pass


class TestCopyOnWrite(CopyOnWriteTests):
    pass


class TestHandle(HandleTests):
    pass


class TestReductions(ReductionTests):
    pass


class TestErrors(ErrorTests):
    pass


class TestFaults(FaultTests):
    pass


class TestStateMachine(StateMachineTests):
    pass


class TestDurability(DurabilityTests):
    pass

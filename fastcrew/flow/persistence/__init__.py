"""Flow persistence, as in CrewAI: ``@persist`` saves a flow's state to a store after its
methods complete; ``kickoff(inputs={"id": ...})`` restores it (and continues an interrupted
kickoff where it stopped). See docs/flow-persistence.md.

::

    from fastcrew.flow.persistence import FlowPersistence, SQLiteFlowPersistence, persist
"""

from __future__ import annotations

from .base import Checkpoint, FlowPersistence
from .decorators import persist
from .sqlite import SQLiteFlowPersistence, default_db_path

__all__ = ["Checkpoint", "FlowPersistence", "SQLiteFlowPersistence", "default_db_path", "persist"]

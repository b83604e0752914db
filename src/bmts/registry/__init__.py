"""Battery registry, genealogy and the tamper-evident lifecycle ledger."""

from bmts.registry.ledger import Event, Verification, verify
from bmts.registry.registry import Battery, Registry

__all__ = ["Battery", "Event", "Registry", "Verification", "verify"]

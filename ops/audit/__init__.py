"""The audit vault's public interface: ``record`` an entry, ``verify`` the chain.

from ops import audit
audit.record("apm.escalation", {"escalation": 7, "status": "open"}, actor="worker")
audit.verify()  # -> VerifyResult(ok=True, entries=N, first_broken=None)
"""

from ops.audit.services import VerifyResult, record, verify

__all__ = ["VerifyResult", "record", "verify"]

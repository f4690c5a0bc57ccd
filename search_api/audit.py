"""The audit log: see :mod:`search_api.security.audit` (hash-chained, rotated, verified)."""

from search_api.security.audit import AuditLog, AuditUnavailable, verify_chain

__all__ = ["AuditLog", "AuditUnavailable", "verify_chain"]

"""The advisory lock statement every unit of work takes its locks with.

A 64-bit hash of the key: distinct keys may rarely share a lock, which only serialises
more than needed, never less. Transaction-scoped: it is released when the transaction
ends. A repository that must read right after taking a lock sends this statement and its
read in one round trip (READ COMMITTED gives each statement of the pair its own
snapshot, so the read sees every commit made before the lock was granted).
"""

ADVISORY_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"

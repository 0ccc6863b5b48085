"""Storage: SQL (SQLite or PostgreSQL) and KV (in-process or Redis) behind small interfaces.

Only this package imports database drivers.
"""

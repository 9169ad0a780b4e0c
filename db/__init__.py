"""Persistence: typed SQLAlchemy models, the engine/session factory, and every SQL statement of the
product, one module per concern (see docs/architecture.md)."""

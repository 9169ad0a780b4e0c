"""Persistence: typed SQLAlchemy models, engine/session factory, repository functions, reports."""

"""Alembic environment and versions for Copywatch's schema."""

"""Postgres access: models, engine and session factory."""

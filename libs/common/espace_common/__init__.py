"""Shared plumbing of the Espace Famille services; no business rule lives here."""

"""Paths, typed settings, the atomic config store and secrets (keyring). No Qt."""

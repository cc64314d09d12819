"""Supervised methods that learn from the training split."""

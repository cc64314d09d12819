"""Calibration of per-label probabilities on a dev split (Platt scaling and more)."""

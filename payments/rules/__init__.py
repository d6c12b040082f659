"""Payments' pure rules: no database (which state a payment may move to)."""

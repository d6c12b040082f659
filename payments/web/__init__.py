"""Payments' pages outside the API: the hosted payment page and Stripe's webhook."""

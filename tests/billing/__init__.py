"""Billing tests."""

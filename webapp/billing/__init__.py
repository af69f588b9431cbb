"""Billing: plans, practitioner subscriptions, invoices, payment providers."""

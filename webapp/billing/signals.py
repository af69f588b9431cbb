"""Signals billing sends, so notifications can react without billing knowing them.

Both are sent inside the caller's unit of work with `subscription=` the
`Subscription`: a receiver writes to the outbox, which commits with it.
"""

from blinker import signal

# A payment failed (card refused, or a bank-transfer invoice is overdue).
payment_failed = signal("billing-payment-failed")
# The grace period ended unpaid: online booking stops for the practitioner(s).
subscription_suspended = signal("billing-subscription-suspended")

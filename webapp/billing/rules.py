"""Billing's limits and defaults, each in one place: the forms, the API
schemas, the services and the model's columns take them from here.

The amounts and periods the operator chooses (prices, VAT rate, trial,
grace period, payment terms) are settings, in config (`CARNET_*`).
"""

# Every plan is priced in euros, by the month; an invoice copies its plan's currency.
CURRENCY = "EUR"
PLAN_INTERVAL = "month"

# What one may type in the billing details (form and API), before it is
# normalised: a SIRET typed with its spaces fits in 20 characters, 14 are kept.
BUYER_DETAILS_MAX_LENGTHS = {"name": 200, "siret": 20, "vat_number": 20, "street": 200, "postcode": 10, "city": 100}

# The operator's acts: the transfer reference or cheque number, the reason printed on a credit note.
PAYMENT_REFERENCE_MAX_LENGTH = 100
CREDIT_NOTE_REASON_MAX_LENGTH = 300

# The back office's subscription search: longer text is cut, not refused.
SEARCH_MAX_LENGTH = 100

# Where the provider's checkout page sends the practitioner back (API).
RETURN_URL_MAX_LENGTH = 500

# Lists on the pages (the API takes `per_page` within the shared pagination bounds).
OWN_INVOICES_PER_PAGE = 24
BACK_OFFICE_PER_PAGE = 50

# The dashboard's revenue chart, the current month included.
REVENUE_HISTORY_MONTHS = 12

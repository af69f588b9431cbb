"""Forms of the visitor's booking journey: the confirmation of a held slot."""

from webapp.booking.forms import BookForm


class HoldConfirmForm(BookForm):
    """Who the appointment is for, a message, sharing: the slot and the
    reason come from the hold, not from the form."""

    visit_reason_id = None
    start = None

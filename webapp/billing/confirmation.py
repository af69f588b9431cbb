"""A confirmation step for the back office's irreversible actions (credit
note, payment, cancellation) that works without JavaScript.

The action's form posts as usual; once valid, the answer is a page that
says what will happen, with the values typed carried in hidden fields and a
second submit button named `confirmed`: only that second post acts.
"""

from flask import render_template, request

CONFIRM_FIELD = "confirmed"


def is_confirmed() -> bool:
    return request.form.get(CONFIRM_FIELD) == "yes"


def confirmation_page(form, *, title: str, facts: list[tuple[str, str]], warning: str, submit: str, back: str):
    """The page asking to confirm `form`'s action, posted again to the same URL."""
    hidden = [(field.name, request.form.get(field.name, "")) for field in form if field.name != "csrf_token"]
    return render_template("billing/backoffice_confirm.html", form=form, hidden=hidden, title=title, facts=facts,
                           warning=warning, submit=submit, back=back, action=request.path,
                           confirm_field=CONFIRM_FIELD)

"""Web plumbing every feature's pages share: one way to run a form's action and
to check who may open a page.

- `form_action(form)`: run the service calls of a submitted form in one
  transaction; a domain error is placed on the form (next to the fields it
  names, else above the form) instead of escaping. `form_action()` without a
  form, for a button that redirects back, flashes the error instead.
- `domain_errors(form)`: that placing alone, around a block that manages its
  own transactions (one that calls a remote service between two of them).
- `show_errors(form, error)`: the placing of one error.
- `roles_required(*roles)`: a view only signed-in accounts of these roles open
  (others are sent to log in, or refused with 403).

The rest of the shared plumbing has one home each: page numbers and paged
queries in `webapp.paging`, absolute links in `webapp.urls.external_url`,
Jinja filters in `webapp.template_filters`.
"""

import functools
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, flash
from flask_login import current_user

from webapp.errors import CarnetError, Forbidden
from webapp.transaction import transaction


def show_errors(form, error: CarnetError) -> None:
    """Put a service error next to the fields it names, or above the form."""
    placed = False
    for name, messages in error.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + list(messages)
            placed = True
    if not placed:
        form.form_errors.append(error.message)


def flash_error(error: CarnetError) -> None:
    """The error and what it says of each field, as one message above the page."""
    details = [message for messages in error.fields.values() for message in messages]
    flash(" ".join([error.message, *map(str, details)]), "error")


class FormAction:
    """The outcome of a `form_action` block: `succeeded` once it committed,
    else the `error` that was placed (None if the block did not run to an end)."""

    succeeded = False
    error: CarnetError | None = None


@contextmanager
def domain_errors(form=None, *, passes: tuple[int | type[CarnetError], ...] = ()) -> Iterator[FormAction]:
    """Place a `CarnetError` the block raises on `form` (or flash it when
    there is no form) instead of letting it escape; errors whose status is
    in `passes` (say 403, 404), or of a class in it, propagate to the error
    page (or to the blueprint's handler of that class) instead."""
    action = FormAction()
    try:
        yield action
    except CarnetError as error:
        if any(error.status == kind if isinstance(kind, int) else isinstance(error, kind) for kind in passes):
            raise
        action.error = error
        if form is None:
            flash_error(error)
        else:
            show_errors(form, error)
    else:
        action.succeeded = True


@contextmanager
def form_action(form=None, *, passes: tuple[int | type[CarnetError], ...] = ()) -> Iterator[FormAction]:
    """Run the block in `transaction()`; a `CarnetError` is placed on `form`
    (flashed without a form) and swallowed, the block's writes rolled back,
    or kept when the error declares `keeps_writes`. Errors in `passes` (by
    status or class, as for `domain_errors`) propagate instead.

        with form_action(form) as action:
            services.do_it(current_user, form.value.data)
        if action.succeeded:
            return redirect(...)
    """
    # The transaction sits inside `domain_errors`, so it has rolled back (or
    # committed a `keeps_writes` error) before the error is placed.
    with domain_errors(form, passes=passes) as action, transaction():
        yield action


def roles_required(*roles):
    """The view is for signed-in accounts of one of `roles`: a visitor is sent
    to the login page, any other role gets 403 (the services still check what
    the account may do with each record)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.role not in roles:
                raise Forbidden()
            return view(*args, **kwargs)

        return wrapper

    return decorator

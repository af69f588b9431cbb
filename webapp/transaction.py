"""The unit of work: services flush, the caller commits once or rolls back."""

from contextlib import contextmanager

from webapp.errors import CarnetError
from webapp.extensions import db


@contextmanager
def transaction():
    """Commit what the block wrote, or roll all of it back if it raises.

    Views, API handlers and jobs wrap each service call in this, so a refused
    operation never leaves a partial write behind. The one exception is an
    error that records its own cause (a failed login counts towards the
    lock-out): it declares `keeps_writes` and its writes are committed.
    """
    try:
        yield db.session
        db.session.commit()
    except CarnetError as error:
        if error.keeps_writes:
            db.session.commit()
        else:
            db.session.rollback()
        raise
    except BaseException:
        db.session.rollback()
        raise

"""A small local stand-in for Stripe's HTTP API, for the calls Carnet makes:
create a customer, a Checkout session, a customer portal session.

It answers like Stripe (JSON objects, form-encoded requests, bearer secret
key, error bodies) and records every request so tests can check what the
official library sent. Started on a loopback port in a thread.
"""

import itertools
import json
import threading
from dataclasses import dataclass, field

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class RecordedRequest:
    method: str
    path: str
    form: dict
    headers: dict


@dataclass
class StripeStandIn:
    secret_key: str
    requests: list[RecordedRequest] = field(default_factory=list)
    fail_next: bool = False
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __call__(self, environ, start_response):
        return self.respond(Request(environ))(environ, start_response)

    def respond(self, request: Request) -> Response:
        self.requests.append(RecordedRequest(request.method, request.path, request.form.to_dict(),
                                             dict(request.headers)))
        if request.headers.get("Authorization") != f"Bearer {self.secret_key}":
            return _error(401, "invalid_request_error", "Invalid API Key provided.")
        if self.fail_next:
            self.fail_next = False
            return _error(500, "api_error", "Something went wrong on Stripe's end.")
        routes = {
            ("POST", "/v1/customers"): self.create_customer,
            ("POST", "/v1/checkout/sessions"): self.create_checkout_session,
            ("POST", "/v1/billing_portal/sessions"): self.create_portal_session,
        }
        handler = routes.get((request.method, request.path))
        if handler is None:
            return _error(404, "invalid_request_error", f"Unrecognized request URL ({request.method}: {request.path}).")
        return handler(request.form)

    def _id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._ids):06d}"

    def create_customer(self, form) -> Response:
        return _json({"id": self._id("cus"), "object": "customer", "email": form.get("email"),
                      "name": form.get("name"), "livemode": False})

    def create_checkout_session(self, form) -> Response:
        missing = [name for name in ("mode", "success_url", "line_items[0][price]") if not form.get(name)]
        if missing:
            return _error(400, "invalid_request_error", f"Missing required param: {missing[0]}.")
        session_id = self._id("cs")
        return _json({"id": session_id, "object": "checkout.session", "mode": form["mode"],
                      "customer": form.get("customer"), "client_reference_id": form.get("client_reference_id"),
                      "url": f"https://checkout.stripe.test/c/pay/{session_id}", "status": "open"})

    def create_portal_session(self, form) -> Response:
        if not form.get("customer"):
            return _error(400, "invalid_request_error", "Missing required param: customer.")
        session_id = self._id("bps")
        return _json({"id": session_id, "object": "billing_portal.session", "customer": form["customer"],
                      "return_url": form.get("return_url"), "url": f"https://billing.stripe.test/p/session/{session_id}"})

    def calls_to(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json",
                    headers={"Request-Id": "req_standin"})


def _error(status: int, error_type: str, message: str) -> Response:
    return _json({"error": {"type": error_type, "message": message}}, status)


class RunningStandIn:
    """The stand-in served on 127.0.0.1 with a free port, in a thread."""

    def __init__(self, secret_key: str):
        self.api = StripeStandIn(secret_key)
        self.server = make_server("127.0.0.1", 0, self.api, threaded=True)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "RunningStandIn":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

"""A local MHD Document Recipient for the tests: a small Flask app on loopback.

It checks every Provide Document Bundle it gets against the profile rules
of `tests.dmp.profiles` (refusing with a 400 and an OperationOutcome),
keeps one document per masterIdentifier (honouring `ifNoneExist` on every
entry, or refusing a known unique id as an XDS registry does), answers a `transaction-response`, and can be told
to answer given statuses first (500, 400...).
"""

import threading
import time
from dataclasses import dataclass, field

from flask import Flask, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.dmp.profiles import bundle_problems


@dataclass
class Recipient:
    """The recipient's state, as the tests see it."""

    url: str = ""
    scripted_statuses: list[int] = field(default_factory=list)
    received: list[dict] = field(default_factory=list)
    documents: dict[str, dict] = field(default_factory=dict)
    authorizations: list[str] = field(default_factory=list)
    tokens_issued: int = 0
    # Resources created, by (type, ifNoneExist condition); and every type created, in order.
    stored: dict[tuple[str, str], dict] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    # Behave like an XDS-backed recipient: a known document unique id is refused as a duplicate.
    refuse_duplicates: bool = False
    # Store the next transaction, then answer this many seconds late (the client times out).
    answer_late_once_seconds: float = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reset(self):
        self.scripted_statuses.clear()
        self.received.clear()
        self.documents.clear()
        self.authorizations.clear()
        self.tokens_issued = 0
        self.stored.clear()
        self.created.clear()
        self.refuse_duplicates = False
        self.answer_late_once_seconds = 0


def _outcome(status: int, text: str):
    body = {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "invalid" if status < 500 else "exception", "diagnostics": text}]}
    response = jsonify(body)
    response.status_code = status
    response.content_type = "application/fhir+json"
    return response


def _duplicate():
    """An XDS registry's refusal of a unique id it holds already (MHD maps it to an OperationOutcome)."""
    body = {"resourceType": "OperationOutcome", "issue": [{
        "severity": "error", "code": "duplicate",
        "details": {"coding": [{"system": "urn:oasis:names:tc:ebxml-regrep:ErrorCodes",
                                "code": "XDSDuplicateUniqueIdInRegistry"}]}}]}
    response = jsonify(body)
    response.status_code = 409
    response.content_type = "application/fhir+json"
    return response


def recipient_app(state: Recipient) -> Flask:
    app = Flask("mhd_recipient")

    @app.post("/token")
    def token():
        if request.form.get("grant_type") != "client_credentials" or request.authorization is None:
            return jsonify({"error": "invalid_client"}), 401
        state.tokens_issued += 1
        return jsonify({"access_token": f"token-{state.tokens_issued}", "token_type": "Bearer", "expires_in": 3600})

    @app.post("/fhir")
    def provide_document_bundle():
        bundle = request.get_json(force=True)
        state.received.append(bundle)
        state.authorizations.append(request.headers.get("Authorization", ""))
        if state.scripted_statuses:
            status = state.scripted_statuses.pop(0)
            if status >= 300:
                return _outcome(status, "scripted answer")
        problems = bundle_problems(bundle)
        if problems:
            return _outcome(400, "; ".join(problems))
        references = [item["resource"] for item in bundle["entry"]
                      if item["resource"]["resourceType"] == "DocumentReference"]
        if state.refuse_duplicates and any(ref["masterIdentifier"]["value"] in state.documents for ref in references):
            return _duplicate()
        answers = []
        with state.lock:
            for item in bundle["entry"]:
                resource, condition = item["resource"], item["request"].get("ifNoneExist")
                key = (resource["resourceType"], condition)
                if condition and not state.refuse_duplicates and key in state.stored:
                    answers.append({"response": {"status": "200 OK"}})
                    continue
                state.stored[key] = resource
                state.created.append(resource["resourceType"])
                if resource["resourceType"] == "DocumentReference":
                    state.documents[resource["masterIdentifier"]["value"]] = resource
                answers.append({"response": {"status": "201 Created"}})
        if state.answer_late_once_seconds:
            delay, state.answer_late_once_seconds = state.answer_late_once_seconds, 0
            time.sleep(delay)
        response = jsonify({"resourceType": "Bundle", "type": "transaction-response", "entry": answers})
        response.content_type = "application/fhir+json"
        return response

    return app


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def start_recipient() -> tuple[Recipient, callable]:
    """Serve a recipient on a free loopback port; returns its state and a stop function."""
    state = Recipient()
    server = make_server("127.0.0.1", 0, recipient_app(state), threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, name="mhd-recipient", daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}"

    def stop():
        server.shutdown()
        thread.join(timeout=5)

    return state, stop

"""A local MHD Document Recipient for the tests: a small Flask app on loopback.

It checks every Provide Document Bundle it gets (FHIR R4B parse and the
ITI-65 rules of `bundle_problems`), keeps one document per masterIdentifier
(honouring `ifNoneExist`), answers a `transaction-response`, and can be told
to answer given statuses first (500, 400...).
"""

import base64
import hashlib
import threading
from dataclasses import dataclass, field

from fhir.resources.R4B.bundle import Bundle
from flask import Flask, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

from webapp.dmp.builder import MHD_LIST_TYPES


def bundle_problems(bundle: dict) -> list[str]:
    """What makes `bundle` not an ITI-65 Provide Document Bundle (empty when it is one)."""
    problems = []
    try:
        Bundle.model_validate(bundle)
    except Exception as error:  # any parse error is the recipient's 400
        return [f"not a FHIR R4B Bundle: {error}"]
    if bundle.get("type") != "transaction":
        problems.append("not a transaction")
    entries = bundle.get("entry", [])
    by_url = {item["fullUrl"]: item["resource"] for item in entries}
    if any(item.get("request", {}).get("method") != "POST" for item in entries):
        problems.append("every request must be a POST")
    submission_sets = [item["resource"] for item in entries if item["resource"]["resourceType"] == "List"
                       and any(coding.get("system") == MHD_LIST_TYPES and coding.get("code") == "submissionset"
                               for coding in item["resource"].get("code", {}).get("coding", []))]
    if len(submission_sets) != 1:
        problems.append("exactly one SubmissionSet is required")
    references = [item["resource"] for item in entries if item["resource"]["resourceType"] == "DocumentReference"]
    if not references:
        problems.append("no DocumentReference")
    for reference in references:
        for required in ("masterIdentifier", "status", "type", "category", "subject", "author", "content"):
            if not reference.get(required):
                problems.append(f"DocumentReference without {required}")
        if submission_sets and reference.get("subject") != submission_sets[0].get("subject"):
            problems.append("the SubmissionSet and the DocumentReference name different subjects")
        for content in reference.get("content", []):
            attachment = content["attachment"]
            binary = by_url.get(attachment.get("url"))
            if binary is None or binary["resourceType"] != "Binary":
                problems.append("an attachment url does not resolve to a Binary of the bundle")
                continue
            data = base64.b64decode(binary["data"])
            if attachment.get("size") != len(data):
                problems.append("attachment size does not match the bytes")
            if attachment.get("hash") != base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode():
                problems.append("attachment hash does not match the bytes")
    return problems


@dataclass
class Recipient:
    """The recipient's state, as the tests see it."""

    url: str = ""
    scripted_statuses: list[int] = field(default_factory=list)
    received: list[dict] = field(default_factory=list)
    documents: dict[str, dict] = field(default_factory=dict)
    authorizations: list[str] = field(default_factory=list)
    tokens_issued: int = 0

    def reset(self):
        self.scripted_statuses.clear()
        self.received.clear()
        self.documents.clear()
        self.authorizations.clear()
        self.tokens_issued = 0


def _outcome(status: int, text: str):
    body = {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "invalid" if status < 500 else "exception", "diagnostics": text}]}
    response = jsonify(body)
    response.status_code = status
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
        answers = []
        for item in bundle["entry"]:
            resource = item["resource"]
            if resource["resourceType"] == "DocumentReference":
                key = resource["masterIdentifier"]["value"]
                created = key not in state.documents
                state.documents.setdefault(key, resource)
                answers.append({"response": {"status": "201 Created" if created else "200 OK"}})
            else:
                answers.append({"response": {"status": "201 Created"}})
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

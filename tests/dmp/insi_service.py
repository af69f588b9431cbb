"""A stand-in INSi adapter for the tests: a small Flask app on loopback.

It speaks the JSON contract of `webapp.dmp.insi` (not the ANS SOAP messages:
that is the production adapter's job). It knows a register of identities by
INS and answers the "verification" operation: confirmed, with the register's
traits, when the INS is known and the birth date and sex sent agree; else
not confirmed. A scripted HTTP status answers the next call instead.
"""

import threading
from dataclasses import dataclass, field

from flask import Flask, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server


@dataclass
class InsiService:
    url: str = ""
    # INS → {"last_name", "first_names", "birth_date", "sex"}: what the national register holds.
    register: dict[str, dict] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    scripted_statuses: list[int] = field(default_factory=list)

    def reset(self):
        self.register.clear()
        self.requests.clear()
        self.authorizations.clear()
        self.scripted_statuses.clear()


def insi_app(state: InsiService) -> Flask:
    app = Flask("insi-stand-in")

    @app.post("/insi/verification")
    def verification():
        state.authorizations.append(request.headers.get("Authorization", ""))
        if state.scripted_statuses:
            return jsonify({"error": "scripted"}), state.scripted_statuses.pop(0)
        body = request.get_json()
        state.requests.append(body)
        known = state.register.get(body.get("ins"))
        sent = body.get("traits") or {}
        if known is None or body.get("operation") != "verification" or sent.get("birth_date") != known["birth_date"] \
                or (sent.get("sex") is not None and sent["sex"] != known["sex"]):
            return jsonify({"result": "not_confirmed"})
        return jsonify({"result": "confirmed", "ins": body["ins"], "traits": known})

    return app


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def start_insi_service() -> tuple[InsiService, callable]:
    state = InsiService()
    server = make_server("127.0.0.1", 0, insi_app(state), threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, name="insi-stand-in", daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/insi"

    def stop():
        server.shutdown()
        thread.join(timeout=5)

    return state, stop

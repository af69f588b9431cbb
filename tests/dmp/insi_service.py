"""A stand-in INSi teleservice for the tests: a small Flask app on loopback speaking SOAP 1.2.

It answers `rechercherInsAvecTraitsIdentite` as the public implementations
of the teleservice show it: a `RECSANSVITALE` request (birth name, first
name, sex, birth date) behind the `ContexteBAM`/`ContexteLPS` headers and the
WS-Addressing action, and a `RESULTAT` answer with `CR/CodeCR` 00 (one
identity: `INSACTIF`, `INSHISTO`, `TIQ`), 01 (none) or 02 (several). A
request without the headers, or another action, gets a SOAP fault
(`soap:Sender`), as does any scripted fault. Its register holds identities by
INS, as the national databases would.
"""

import threading
import time
from dataclasses import dataclass, field

from flask import Flask, Response, request
from lxml import etree
from werkzeug.serving import WSGIRequestHandler, make_server

from webapp.dmp.insi import CTX_BAM, CTX_LPS, REC_SANS, RESULTAT, SEARCH_ACTION, SOAP, WSA

INS_NIR_OID = "1.2.250.1.213.1.4.8"
SOAP_CONTENT_TYPE = "application/soap+xml; charset=utf-8"


@dataclass
class InsiService:
    url: str = ""
    # INS → {"birth_name", "first_names", "sex", "birth_date", "birth_place"?, "oid"?, "former"?}
    register: dict[str, dict] = field(default_factory=dict)
    # What each call carried: the action, the LPS context and the searched traits.
    requests: list[dict] = field(default_factory=list)
    # The next calls' answers instead of a search: "fault", "http_503", "not_xml", "cr_99" or ("delay", seconds).
    scripted: list = field(default_factory=list)

    def reset(self):
        self.register.clear()
        self.requests.clear()
        self.scripted.clear()


def _text(parent, path: str, namespaces: dict) -> str | None:
    element = parent.find(path, namespaces)
    return element.text if element is not None else None


def _fault(code: str, reason: str, status: int = 500) -> Response:
    envelope = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soap": SOAP})
    fault = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP}}}Body"), f"{{{SOAP}}}Fault")
    value = etree.SubElement(etree.SubElement(fault, f"{{{SOAP}}}Code"), f"{{{SOAP}}}Value")
    value.text = f"soap:{code}"
    text = etree.SubElement(etree.SubElement(fault, f"{{{SOAP}}}Reason"), f"{{{SOAP}}}Text")
    text.text = reason
    return Response(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"), status=status,
                    content_type=SOAP_CONTENT_TYPE)


def result(code: str, label: str, identity: tuple[str, dict] | None = None) -> bytes:
    """A `RESULTAT` answer in its SOAP 1.2 envelope."""
    envelope = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soap": SOAP})
    body = etree.SubElement(envelope, f"{{{SOAP}}}Body")
    answer = etree.SubElement(body, f"{{{RESULTAT}}}RESULTAT", nsmap={None: RESULTAT})

    def add(parent, name, text=None):
        element = etree.SubElement(parent, f"{{{RESULTAT}}}{name}")
        element.text = text
        return element

    cr = add(answer, "CR")
    add(cr, "CodeCR", code)
    add(cr, "LibelleCR", label)
    if identity is not None:
        ins, known = identity
        person = add(answer, "INDIVIDU")
        for kind, number in [("INSACTIF", ins), *[("INSHISTO", former) for former in known.get("former", [])]]:
            block = add(person, kind)
            matricule = add(block, "IdIndividu")
            add(matricule, "NumIdentifiant", number[:13])
            add(matricule, "Cle", number[13:])
            add(block, "OID", known.get("oid", INS_NIR_OID))
        tiq = add(person, "TIQ")
        add(tiq, "NomNaissance", known["birth_name"])
        add(tiq, "ListePrenom", known["first_names"])
        add(tiq, "Sexe", known["sex"])
        add(tiq, "DateNaissance", known["birth_date"])
        if known.get("birth_place"):
            add(tiq, "LieuNaissance", known["birth_place"])
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def insi_app(state: InsiService) -> Flask:
    app = Flask("insi-stand-in")
    ns = {"soap": SOAP, "bam": CTX_BAM, "lps": CTX_LPS, "wsa": WSA, "rs": REC_SANS}

    @app.post("/lps")
    def teleservice():
        if state.scripted:
            script = state.scripted.pop(0)
            if isinstance(script, tuple):
                time.sleep(script[1])
            elif script == "fault":
                return _fault("Receiver", "Service momentanement indisponible")
            elif script == "http_503":
                return Response("unavailable", status=503, content_type="text/plain")
            elif script == "not_xml":
                return Response("<html>proxy error</html", status=200, content_type=SOAP_CONTENT_TYPE)
            elif script == "cr_99":
                return Response(result("99", "Erreur technique"), content_type=SOAP_CONTENT_TYPE)
        try:
            envelope = etree.fromstring(request.get_data(), etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            return _fault("Sender", "Message illisible")
        header, search = envelope.find("soap:Header", ns), envelope.find("soap:Body/rs:RECSANSVITALE", ns)
        sent = {
            "content_type": request.headers.get("Content-Type", ""),
            "action": _text(envelope, "soap:Header/wsa:Action", ns),
            "message_id": _text(envelope, "soap:Header/wsa:MessageID", ns),
            "bam_emitter": _text(envelope, "soap:Header/bam:ContexteBAM/bam:Emetteur", ns),
            "lps": {name: _text(envelope, f"soap:Header/lps:ContexteLPS/lps:LPS/lps:{name}", ns)
                    for name in ("IDAM", "Version", "Instance", "Nom")},
            "lps_emitter": _text(envelope, "soap:Header/lps:ContexteLPS/lps:Emetteur", ns),
        }
        if search is not None:
            sent["traits"] = {name: _text(search, f"rs:{name}", ns)
                              for name in ("NomNaissance", "Prenom", "Sexe", "DateNaissance", "LieuNaissance")}
        state.requests.append(sent)
        if header is None or search is None or sent["action"] != SEARCH_ACTION \
                or f'action="{SEARCH_ACTION}"' not in sent["content_type"] or None in sent["lps"].values():
            return _fault("Sender", "Requete non conforme")
        traits = sent["traits"]
        matches = [(ins, known) for ins, known in state.register.items()
                   if known["birth_name"] == traits["NomNaissance"] and known["sex"] == traits["Sexe"]
                   and known["birth_date"] == traits["DateNaissance"]
                   and traits["Prenom"] in known["first_names"].split()]
        if not matches:
            body = result("01", "Aucune identite trouvee")
        elif len(matches) > 1:
            body = result("02", "Plusieurs identites trouvees")
        else:
            body = result("00", "OK", matches[0])
        return Response(body, content_type=SOAP_CONTENT_TYPE)

    return app


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def start_insi_service(ssl_context=None) -> tuple[InsiService, callable]:
    """The stand-in on a loopback port; over TLS with `ssl_context` (which may require a client certificate)."""
    state = InsiService()
    server = make_server("127.0.0.1", 0, insi_app(state), threaded=True, request_handler=_Quiet,
                         ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, name="insi-stand-in", daemon=True)
    thread.start()
    state.url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{server.server_port}/lps"

    def stop():
        server.shutdown()
        thread.join(timeout=5)

    return state, stop

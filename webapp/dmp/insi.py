"""A client of the INSi teleservice (Assurance Maladie): the search of an INS from identity traits.

Carnet speaks the teleservice's SOAP 1.2 messages itself. The operation is
`rechercherInsAvecTraitsIdentite` (WS-Addressing action
`urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite`): the
request body is a `RECSANSVITALE` element (namespace
`http://www.cnamts.fr/INSiRecSans`) with the birth name, one first name, the
sex and the birth date, behind the `ContexteBAM` and `ContexteLPS` headers
that name the software (its IDAM authorisation number, name, version and
installation) and the emitter. The answer is a `RESULTAT` element (namespace
`http://www.cnamts.fr/INSiResultat`) whose `CR/CodeCR` is `00` (one identity
found: the active INS as `NumIdentifiant` + `Cle` with its OID, the former
ones, and the INS traits `TIQ`), `01` (none found) or `02` (several found).
A SOAP fault, another code, a malformed answer, a timeout or a refused
connection is an `InsiError`: nothing changes and the call can be retried.

The message shapes follow the public implementations of this operation (see
the README, "Identity statuses"), the CNAM's integration guide being
distributed to homologated publishers only. Carnet verifies a recorded INS
with this search: the INS the teleservice returns for the patient's traits
must be the recorded one, and its traits the profile's (`verdict`).

The transport is pluggable: by default an HTTPS POST authenticated by the
structure's certificate (`CARNET_INSI_CERT` and `CARNET_INSI_KEY`, PEM
files); `CARNET_INSI_TRANSPORT` ("package.module:factory", called with the
configuration) replaces it, e.g. by a CPS-card transport that adds the
WS-Security assertion. Only status codes and CR codes are logged.
"""

import datetime as dt
import importlib
import logging
import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import requests
from lxml import etree

log = logging.getLogger(__name__)

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
CTX_BAM = "urn:siram:bam:ctxbam"
CTX_LPS = "urn:siram:lps:ctxlps"
REC_SANS = "http://www.cnamts.fr/INSiRecSans"
RESULTAT = "http://www.cnamts.fr/INSiResultat"
SEARCH_ACTION = "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite"
FOUND, NOT_FOUND, SEVERAL_FOUND = "00", "01", "02"
# The INS OIDs: NIR, NIA, and the test NIR and NIA of the teleservice's qualification platform.
INS_OIDS = {"1.2.250.1.213.1.4.8": "NIR", "1.2.250.1.213.1.4.9": "NIA",
            "1.2.250.1.213.1.4.10": "NIR", "1.2.250.1.213.1.4.11": "NIA"}
MAX_ANSWER_BYTES = 1_000_000
SEX_CODES = {"male": "M", "female": "F"}
NIR_SEX = {"1": "M", "3": "M", "2": "F", "4": "F"}
LPS_SETTINGS = ("CARNET_INSI_LPS_IDAM", "CARNET_INSI_LPS_NAME", "CARNET_INSI_LPS_VERSION",
                "CARNET_INSI_LPS_INSTANCE", "CARNET_INSI_EMITTER")


class InsiError(Exception):
    """The teleservice could not be reached, answered a SOAP fault, or something outside its messages."""


def insi_name(value: str) -> str:
    """A name as the teleservice writes it: upper case, no accents, letters,
    hyphens, apostrophes and single spaces (Œ and Æ spelled out)."""
    value = (value or "").replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    plain = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c)).upper()
    plain = re.sub(r"[^A-Z' -]", " ", plain.replace("’", "'"))
    return " ".join(plain.split())


@dataclass(frozen=True)
class Traits:
    """The identity traits sent to, and returned by, the teleservice."""

    last_name: str  # the birth name
    first_names: str  # space-separated; the request sends the first one
    birth_date: dt.date
    sex: str  # "M" or "F"
    birth_place: str | None = None  # the INSEE code (COG) of the birth place


@dataclass(frozen=True)
class InsiAnswer:
    """The teleservice's answer: its CR code, and for `00` the active INS, its OID,
    the former INS and the INS traits."""

    code: str
    ins: str | None = None
    oid: str | None = None
    traits: Traits | None = None
    former: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Verdict:
    """What an answer says of a recorded INS: confirmed (`reason` None), or why not."""

    reason: str | None  # not_found, several_found, ins_differs, traits_differ
    fields: tuple[str, ...] = ()


def verdict(answer: InsiAnswer, nir: str, traits: Traits) -> Verdict:
    """Whether `answer` confirms `nir` for the person with `traits`: one identity found,
    whose active INS is `nir` and whose birth name, first names (those of the profile
    opening the list), birth date and sex are the profile's."""
    if answer.code == NOT_FOUND:
        return Verdict("not_found")
    if answer.code == SEVERAL_FOUND:
        return Verdict("several_found")
    if answer.ins != nir:
        return Verdict("ins_differs")
    returned = answer.traits
    differing = []
    if insi_name(returned.last_name) != insi_name(traits.last_name):
        differing.append("last_name")
    given, listed = insi_name(traits.first_names).split(), insi_name(returned.first_names).split()
    if not given or listed[:len(given)] != given:
        differing.append("first_name")
    if returned.birth_date != traits.birth_date:
        differing.append("birth_date")
    if returned.sex != traits.sex:
        differing.append("sex")
    return Verdict("traits_differ", tuple(differing)) if differing else Verdict(None)


def insi_enabled(config: Mapping) -> bool:
    return bool(config.get("CARNET_INSI_ENDPOINT") or config.get("CARNET_INSI_TRANSPORT"))


def request_sex(profile_sex: str | None, nir: str) -> str | None:
    """The sex sent: the profile's, else the one the NIR's first digit gives (1 or 3 male,
    2 or 4 female; the trait check made them agree); None for an NIA of unknown sex."""
    return SEX_CODES.get(profile_sex or "") or NIR_SEX.get(nir[:1])


# --- the messages ------------------------------------------------------------------

def _element(parent, namespace: str, name: str, text: str | None = None, **attributes):
    element = etree.SubElement(parent, f"{{{namespace}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def search_request(traits: Traits, *, config: Mapping, now: dt.datetime, message_id: str) -> bytes:
    """The SOAP 1.2 envelope of `rechercherInsAvecTraitsIdentite` for `traits`."""
    envelope = etree.Element(f"{{{SOAP}}}Envelope", nsmap={
        "soap": SOAP, "ctxbam": CTX_BAM, "ctxlps": CTX_LPS, "wsa": WSA, "insi_recsans_ins": REC_SANS})
    header = _element(envelope, SOAP, "Header")
    emitter, instant = config["CARNET_INSI_EMITTER"], _instant(now)
    bam = _element(header, CTX_BAM, "ContexteBAM", Version="01_02")
    _element(bam, CTX_BAM, "Id", str(uuid.uuid4()))
    _element(bam, CTX_BAM, "Temps", instant)
    _element(bam, CTX_BAM, "Emetteur", emitter)
    _element(bam, CTX_BAM, "COUVERTURE")
    lps_context = _element(header, CTX_LPS, "ContexteLPS", Nature="CTXLPS", Version="01_00")
    _element(lps_context, CTX_LPS, "Id", str(uuid.uuid4()))
    _element(lps_context, CTX_LPS, "Temps", instant)
    _element(lps_context, CTX_LPS, "Emetteur", emitter)
    lps = _element(lps_context, CTX_LPS, "LPS")
    _element(lps, CTX_LPS, "IDAM", config["CARNET_INSI_LPS_IDAM"], R="4")
    _element(lps, CTX_LPS, "Version", config["CARNET_INSI_LPS_VERSION"])
    _element(lps, CTX_LPS, "Instance", config["CARNET_INSI_LPS_INSTANCE"])
    _element(lps, CTX_LPS, "Nom", f"urn:lps:{config['CARNET_INSI_LPS_NAME']}:{config['CARNET_INSI_LPS_VERSION']}")
    _element(header, WSA, "Action", SEARCH_ACTION)
    _element(header, WSA, "MessageID", f"uuid:{message_id}")
    search = _element(_element(envelope, SOAP, "Body"), REC_SANS, "RECSANSVITALE")
    _element(search, REC_SANS, "NomNaissance", insi_name(traits.last_name))
    _element(search, REC_SANS, "Prenom", (insi_name(traits.first_names).split() or [""])[0])
    _element(search, REC_SANS, "Sexe", traits.sex)
    _element(search, REC_SANS, "DateNaissance", traits.birth_date.isoformat())
    if traits.birth_place:
        _element(search, REC_SANS, "LieuNaissance", traits.birth_place)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def _children(element, name: str) -> list:
    return [child for child in element if isinstance(child.tag, str) and etree.QName(child).localname == name]


def _child(element, name: str):
    found = _children(element, name) if element is not None else []
    return found[0] if found else None


def _text(element, *path: str) -> str:
    for name in path:
        element = _child(element, name)
    if element is None or not (element.text or "").strip():
        raise InsiError(f"answer without {'/'.join(path)}")
    return element.text.strip()


def _matricule(ins_element) -> str:
    return _text(ins_element, "IdIndividu", "NumIdentifiant") + _text(ins_element, "IdIndividu", "Cle")


def _parse_xml(body: bytes):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        return etree.fromstring(body, parser)
    except etree.XMLSyntaxError:
        raise InsiError("answer is not XML") from None


def parse_answer(body: bytes) -> InsiAnswer:
    """Read a SOAP answer: a fault is an `InsiError`; a `RESULTAT` gives its CR code and,
    for `00`, the active INS with its OID, the former INS and the INS traits."""
    if len(body) > MAX_ANSWER_BYTES:
        raise InsiError("answer too large")
    envelope = _parse_xml(body)
    if envelope.tag != f"{{{SOAP}}}Envelope":
        raise InsiError("answer is not a SOAP 1.2 envelope")
    body_element = _child(envelope, "Body")
    content = next((child for child in body_element if isinstance(child.tag, str)), None) \
        if body_element is not None else None
    if content is None:
        raise InsiError("answer with an empty body")
    if content.tag == f"{{{SOAP}}}Fault":
        codes = [element.text for element in content.iter(f"{{{SOAP}}}Value") if element.text]
        log.warning("INSi answered a SOAP fault: %s", " / ".join(codes))
        raise InsiError(f"SOAP fault {' / '.join(codes)}")
    if content.tag != f"{{{RESULTAT}}}RESULTAT":
        raise InsiError("answer is not a RESULTAT")
    code = _text(content, "CR", "CodeCR")
    if code in (NOT_FOUND, SEVERAL_FOUND):
        return InsiAnswer(code)
    if code != FOUND:
        log.warning("INSi answered CR %s", code)
        raise InsiError(f"CR {code}")
    person = _child(content, "INDIVIDU")
    active = _child(person, "INSACTIF")
    ins, oid = _matricule(active), _text(active, "OID")
    if not re.fullmatch(r"[0-9]{5}[0-9AB][0-9]{9}", ins) or oid not in INS_OIDS:
        raise InsiError("answer with an INS outside the INS formats")
    if (INS_OIDS[oid] == "NIA") != (ins[:1] in ("7", "8")):
        raise InsiError("answer whose OID does not match its INS")
    tiq = _child(person, "TIQ")
    try:
        birth_date = dt.date.fromisoformat(_text(tiq, "DateNaissance"))
    except ValueError:
        raise InsiError("answer with a birth date that is not a date") from None
    place = _child(tiq, "LieuNaissance")
    traits = Traits(last_name=_text(tiq, "NomNaissance"), first_names=_text(tiq, "ListePrenom"),
                    birth_date=birth_date, sex=_text(tiq, "Sexe"),
                    birth_place=(place.text or "").strip() or None if place is not None else None)
    former = tuple(_matricule(element) for element in _children(person, "INSHISTO"))
    return InsiAnswer(FOUND, ins=ins, oid=oid, traits=traits, former=former)


# --- the transport -------------------------------------------------------------------

class Transport(Protocol):
    def send(self, envelope: bytes, *, action: str) -> bytes:
        """Post the envelope and return the answer's bytes (a SOAP fault included);
        `InsiError` when nothing usable came back."""


class HttpsTransport:
    """HTTPS POST to `CARNET_INSI_ENDPOINT`, authenticated by the structure's certificate."""

    def __init__(self, config: Mapping):
        self.endpoint = config["CARNET_INSI_ENDPOINT"]
        cert, key = config.get("CARNET_INSI_CERT"), config.get("CARNET_INSI_KEY")
        self.cert = (cert, key) if cert and key else None
        self.verify = config.get("CARNET_INSI_CA_BUNDLE") or True
        self.timeout = float(config.get("CARNET_INSI_TIMEOUT_SECONDS") or 15)

    def send(self, envelope: bytes, *, action: str) -> bytes:
        headers = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'}
        try:
            response = requests.post(self.endpoint, data=envelope, headers=headers, cert=self.cert,
                                     verify=self.verify, timeout=self.timeout)
        except requests.RequestException as error:
            log.warning("INSi call failed: %s", type(error).__name__)
            raise InsiError(type(error).__name__) from None
        # SOAP 1.2 carries its faults with a 4xx or 5xx status: read them as answers.
        is_soap = response.headers.get("Content-Type", "").startswith(("application/soap+xml", "text/xml"))
        if response.status_code != 200 and not is_soap:
            log.warning("INSi answered HTTP %s", response.status_code)
            raise InsiError(f"HTTP {response.status_code}")
        return response.content


def transport_for(config: Mapping) -> Transport:
    """`CARNET_INSI_TRANSPORT`'s factory when set ("package.module:factory"), else `HttpsTransport`."""
    name = config.get("CARNET_INSI_TRANSPORT")
    if not name:
        return HttpsTransport(config)
    module, _, factory = name.partition(":")
    return getattr(importlib.import_module(module), factory)(config)


def search_ins(traits: Traits, *, config: Mapping, now: dt.datetime) -> InsiAnswer:
    """Ask the teleservice for the INS of the person with these traits."""
    if not insi_enabled(config):
        raise InsiError("INSi is not configured")
    envelope = search_request(traits, config=config, now=now, message_id=str(uuid.uuid4()))
    answer = parse_answer(transport_for(config).send(envelope, action=SEARCH_ACTION))
    log.info("INSi answered CR %s", answer.code)
    return answer

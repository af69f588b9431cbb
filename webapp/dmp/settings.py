"""The connector's settings: on only when a target is configured, and checked at start-up."""

import json
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from config import ConfigurationError
from webapp.dmp import terminology
from webapp.dmp.builder import DocumentCode, SourceSettings
from webapp.dmp.ins import IDNAT_STRUCT_SYSTEM, INS_NIR_OID, idnat_struct
from webapp.dmp.insi import LPS_SETTINGS, insi_enabled
from webapp.notebook.models import EntryKind

AUTH_MODES = ("none", "bearer", "oauth2")
OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
# XDS caps a unique id at 64 characters; a UUID as a number takes up to 39 after the root and a dot.
MAX_OID_ROOT_LENGTH = 24

# Practitioners' documents pushed by default: type from JDV_J07 (LOINC), class from JDV_J06 (TRE_A03).
DEFAULT_DOCUMENT_CODES = {
    EntryKind.REPORT: DocumentCode("11488-4", "CR ou fiche de consultation ou de visite", "10", "Compte rendu"),
    EntryKind.PRESCRIPTION: DocumentCode("57833-6", "Prescription de produits de santé", "42", "Prescription"),
    EntryKind.EXAM_RESULT: DocumentCode("11502-2", "CR d'examens biologiques", "10", "Compte rendu"),
    EntryKind.DOCUMENT: DocumentCode("11488-4", "CR ou fiche de consultation ou de visite", "10", "Compte rendu"),
}


def connector_enabled(config: Mapping) -> bool:
    """The connector exists only when an endpoint or a folder is configured."""
    return bool(config.get("CARNET_DMP_ENDPOINT") or config.get("CARNET_DMP_FOLDER"))


def document_codes(config: Mapping) -> dict[EntryKind, DocumentCode]:
    """The kinds pushed and their codes: the defaults, or `CARNET_DMP_DOCUMENT_CODES`
    as JSON `{"report": ["type code", "type display", "class code", "class display"], ...}`;
    type codes from JDV_J07, class codes from JDV_J06 (TRE_A03)."""
    raw = config.get("CARNET_DMP_DOCUMENT_CODES")
    if not raw:
        return dict(DEFAULT_DOCUMENT_CODES)
    if isinstance(raw, Mapping):
        return {EntryKind(kind): code if isinstance(code, DocumentCode) else DocumentCode(*code)
                for kind, code in raw.items()}
    try:
        codes = {EntryKind(kind): DocumentCode(*map(str, code)) for kind, code in json.loads(raw).items()}
    except (ValueError, TypeError) as error:
        raise ConfigurationError(f"CARNET_DMP_DOCUMENT_CODES is not a valid mapping: {error}") from None
    for code in codes.values():
        try:
            terminology.lookup(terminology.TYPE_CODES, code.type_code)
            terminology.lookup(terminology.CLASS_CODES, code.class_code)
        except KeyError as error:
            raise ConfigurationError(f"CARNET_DMP_DOCUMENT_CODES: {error.args[0]}") from None
    return codes


def _coded_setting(config: Mapping, name: str, value_set: str) -> terminology.Code:
    try:
        return terminology.lookup(value_set, config.get(name, ""))
    except KeyError:
        raise ConfigurationError(f"{name} must be a code of {value_set}.") from None


def _custodian_id(config: Mapping) -> str:
    """The custodian's IdNat_Struct ("1" + FINESS or "3" + SIRET) under the IdNat_Struct
    system; any other configured system takes the value as it is."""
    value = config["CARNET_DMP_CUSTODIAN_ID"]
    if config.get("CARNET_DMP_CUSTODIAN_SYSTEM", IDNAT_STRUCT_SYSTEM) != IDNAT_STRUCT_SYSTEM:
        return value
    try:
        return idnat_struct(value)
    except ValueError:
        raise ConfigurationError("CARNET_DMP_CUSTODIAN_ID must be a FINESS, a SIRET or an IdNat_Struct.") from None


def _oid_root(config: Mapping) -> str:
    root = config.get("CARNET_DMP_OID_ROOT") or "2.25"
    if not OID.match(root) or len(root) > MAX_OID_ROOT_LENGTH:
        raise ConfigurationError(f"CARNET_DMP_OID_ROOT must be an OID of at most {MAX_OID_ROOT_LENGTH} characters.")
    return root


def source_settings(config: Mapping) -> SourceSettings:
    return SourceSettings(
        source_id=config["CARNET_DMP_SOURCE_ID"],
        custodian_system=config.get("CARNET_DMP_CUSTODIAN_SYSTEM", IDNAT_STRUCT_SYSTEM),
        custodian_id=_custodian_id(config), custodian_name=config["CARNET_DMP_CUSTODIAN_NAME"],
        ins_oid=config.get("CARNET_DMP_INS_OID", INS_NIR_OID),
        facility_type=_coded_setting(config, "CARNET_DMP_FACILITY_TYPE", terminology.FACILITY_TYPES),
        practice_setting=_coded_setting(config, "CARNET_DMP_PRACTICE_SETTING", terminology.PRACTICE_SETTINGS),
        oid_root=_oid_root(config),
    )


def check_insi_settings(config: Mapping) -> None:
    """INSi, when on, needs the software's LPS identifiers, and its default transport
    an https endpoint with the structure's certificate and key (PEM files)."""
    if not insi_enabled(config):
        return
    missing = [name for name in LPS_SETTINGS if not config.get(name)]
    if missing:
        raise ConfigurationError(f"INSi needs {', '.join(missing)}.")
    if config.get("CARNET_INSI_TRANSPORT"):
        return
    scheme = urlsplit(config["CARNET_INSI_ENDPOINT"]).scheme
    if scheme != "https" and not (config.get("TESTING") and scheme == "http"):
        raise ConfigurationError("CARNET_INSI_ENDPOINT must be an https:// URL.")
    files = [config.get(name) for name in ("CARNET_INSI_CERT", "CARNET_INSI_KEY")]
    if any(files) != all(files) or (not all(files) and not config.get("TESTING")):
        raise ConfigurationError("INSi needs CARNET_INSI_CERT and CARNET_INSI_KEY (the structure's certificate).")
    for path in filter(None, [*files, config.get("CARNET_INSI_CA_BUNDLE")]):
        if not Path(path).is_file():
            raise ConfigurationError(f"The INSi certificate file {path} does not exist.")


def check_connector_settings(config: Mapping) -> None:
    """Refuse an incomplete or unsafe connector configuration (https outside tests)."""
    endpoint = config.get("CARNET_DMP_ENDPOINT")
    if endpoint and config.get("CARNET_DMP_FOLDER"):
        raise ConfigurationError("Set CARNET_DMP_ENDPOINT or CARNET_DMP_FOLDER, not both.")
    if endpoint:
        scheme = urlsplit(endpoint).scheme
        if scheme != "https" and not (config.get("TESTING") and scheme == "http"):
            raise ConfigurationError("CARNET_DMP_ENDPOINT must be an https:// URL.")
    check_insi_settings(config)
    auth = config.get("CARNET_DMP_AUTH", "none")
    if auth not in AUTH_MODES:
        raise ConfigurationError(f"CARNET_DMP_AUTH must be one of {', '.join(AUTH_MODES)}.")
    if auth == "bearer" and not config.get("CARNET_DMP_BEARER_TOKEN"):
        raise ConfigurationError("CARNET_DMP_AUTH=bearer needs CARNET_DMP_BEARER_TOKEN.")
    if auth == "oauth2" and not all(config.get(name) for name in (
            "CARNET_DMP_TOKEN_URL", "CARNET_DMP_CLIENT_ID", "CARNET_DMP_CLIENT_SECRET")):
        raise ConfigurationError(
            "CARNET_DMP_AUTH=oauth2 needs CARNET_DMP_TOKEN_URL, CARNET_DMP_CLIENT_ID and CARNET_DMP_CLIENT_SECRET.")
    for name in ("CARNET_DMP_SOURCE_ID", "CARNET_DMP_CUSTODIAN_ID", "CARNET_DMP_CUSTODIAN_NAME"):
        if not config.get(name):
            raise ConfigurationError(f"The shared-record connector needs {name}.")
    document_codes(config)
    source_settings(config)

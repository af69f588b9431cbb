"""INSi over TLS: the default transport presents the structure's certificate
(`CARNET_INSI_CERT`, `CARNET_INSI_KEY`) to a teleservice that requires one."""

import datetime as dt
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests import factories
from tests.dmp.factories import VALID_NIR, bearer, set_identity
from tests.dmp.insi_service import start_insi_service
from tests.dmp.test_insi import REGISTERED
from tests.notebook.factories import make_treating_practitioner
from webapp.dmp.models import IdentityStatus

# Certificates are checked against the real time by OpenSSL: their validity is wide around any test date.
NOT_BEFORE, NOT_AFTER = dt.datetime(2020, 1, 1, tzinfo=dt.UTC), dt.datetime(2099, 1, 1, tzinfo=dt.UTC)


def _certificate(name: str, key, issuer_name, issuer_key, *, ca=False, usage=None, ip=None):
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .issuer_name(issuer_name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if ip:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
                                        critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path, certificate=None, key=None):
    data = certificate.public_bytes(serialization.Encoding.PEM) if certificate else key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_bytes(data)
    return str(path)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A test authority, the teleservice's server certificate and the structure's client certificate."""
    folder = tmp_path_factory.mktemp("insi-pki")
    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test IGC Sante")])
    ca = _certificate("Test IGC Sante", ca_key, ca_name, ca_key, ca=True)
    server = _certificate("127.0.0.1", server_key, ca_name, ca_key, usage=ExtendedKeyUsageOID.SERVER_AUTH,
                          ip="127.0.0.1")
    client = _certificate("Cabinet Carnet", client_key, ca_name, ca_key, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    return {"ca": _write(folder / "ca.pem", ca), "server": _write(folder / "server.pem", server),
            "server_key": _write(folder / "server.key", key=server_key),
            "client": _write(folder / "client.pem", client),
            "client_key": _write(folder / "client.key", key=client_key)}


@pytest.fixture(scope="module")
def _tls_insi(pki):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["server"], pki["server_key"])
    context.load_verify_locations(pki["ca"])
    context.verify_mode = ssl.CERT_REQUIRED  # the teleservice refuses a caller without a certificate
    state, stop = start_insi_service(ssl_context=context)
    yield state
    stop()


@pytest.fixture
def tls_insi(_tls_insi, dmp_app, monkeypatch, pki):
    _tls_insi.reset()
    monkeypatch.setitem(dmp_app.config, "CARNET_INSI_ENDPOINT", _tls_insi.url)
    monkeypatch.setitem(dmp_app.config, "CARNET_INSI_CA_BUNDLE", pki["ca"])
    return _tls_insi


def _verify_a_validated_ins(dmp_client):
    patient = factories.make_patient(last_name="Lefèvre")
    treating = make_treating_practitioner(patient).user
    set_identity(patient, status=IdentityStatus.VALIDATED, by=treating)
    return dmp_client.post(f"/api/v1/patients/{patient.id}/identity/insi-verification", headers=bearer(treating))


def test_the_structure_certificate_is_presented_to_the_teleservice(dmp, dmp_client, dmp_app, tls_insi, pki,
                                                                  monkeypatch):
    monkeypatch.setitem(dmp_app.config, "CARNET_INSI_CERT", pki["client"])
    monkeypatch.setitem(dmp_app.config, "CARNET_INSI_KEY", pki["client_key"])
    tls_insi.register[VALID_NIR] = REGISTERED
    response = _verify_a_validated_ins(dmp_client)
    assert response.status_code == 200 and response.json["status"] == "qualified"
    assert len(tls_insi.requests) == 1


def test_without_the_certificate_the_handshake_fails_and_nothing_changes(dmp, dmp_client, tls_insi):
    tls_insi.register[VALID_NIR] = REGISTERED
    response = _verify_a_validated_ins(dmp_client)
    assert response.status_code == 503 and response.json["error"]["code"] == "insi_unavailable"
    assert tls_insi.requests == []

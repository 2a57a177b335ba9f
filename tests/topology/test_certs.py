"""Key material made at set-up: a CA, a localhost certificate it signed, the token signing key."""

import ipaddress
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from topology.certs import ensure_key_material
from topology.layout import Layout


def test_server_certificate_is_signed_by_the_ca_for_localhost(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    layout.create()
    ensure_key_material(layout)
    ca = x509.load_pem_x509_certificate(layout.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(layout.server_cert.read_bytes())
    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert isinstance(server.public_key(), ec.EllipticCurvePublicKey)


def test_secrets_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    layout.create()
    ensure_key_material(layout)
    for secret in (layout.ca_key, layout.server_pem, layout.signing_key):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret


def test_existing_material_is_kept_on_a_second_set_up(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    layout.create()
    assert len(ensure_key_material(layout)) == 3
    signing_key = layout.signing_key.read_bytes()
    assert ensure_key_material(layout) == []
    assert layout.signing_key.read_bytes() == signing_key, "tokens already minted must stay valid"

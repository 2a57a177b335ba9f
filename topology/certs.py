"""Key material made at set-up into the work directory (never committed): a self-signed CA, the
localhost certificate haproxy serves, and the RSA key the local token minter signs with.

Existing files are kept, so a second `make up` does not invalidate tokens or a CA a browser trusts.
"""

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from topology.layout import Layout

CA_DAYS = 825
SERVER_DAYS = 397  # browsers refuse leaf certificates valid for longer
SERVER_NAMES = ("localhost",)
SERVER_ADDRESSES = ("127.0.0.1", "::1")


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret readable by its owner only, created with that mode (no window where it is 0644)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Relay local"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _make_ca(layout: Layout) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Relay local CA"))
        .issuer_name(_name("Relay local CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(layout.ca_key, _pem_key(key))
    layout.ca_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _make_server_cert(layout: Layout) -> None:
    ca_key = serialization.load_pem_private_key(layout.ca_key.read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(layout.ca_cert.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    alt_names = [x509.DNSName(n) for n in SERVER_NAMES] + [
        x509.IPAddress(ipaddress.ip_address(a)) for a in SERVER_ADDRESSES
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    layout.server_cert.write_bytes(cert_pem)
    _write_private(layout.server_pem, cert_pem + _pem_key(key))


def _make_signing_key(layout: Layout) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_private(layout.signing_key, _pem_key(key))
    layout.verifying_key.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _server_cert_expires_soon(layout: Layout) -> bool:
    cert = x509.load_pem_x509_certificate(layout.server_cert.read_bytes())
    return cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC) < datetime.timedelta(days=7)


def ensure_key_material(layout: Layout) -> list[str]:
    """Create what is missing (or about to expire); returns what was made, for the set-up report."""
    made = []
    if not (layout.ca_cert.exists() and layout.ca_key.exists()):
        _make_ca(layout)
        layout.server_pem.unlink(missing_ok=True)
        made.append(f"CA {layout.ca_cert}")
    if not (layout.server_pem.exists() and layout.server_cert.exists()) or _server_cert_expires_soon(layout):
        _make_server_cert(layout)
        made.append(f"TLS certificate for localhost {layout.server_pem}")
    if not (layout.signing_key.exists() and layout.verifying_key.exists()):
        _make_signing_key(layout)
        made.append(f"token signing key {layout.signing_key}")
    return made

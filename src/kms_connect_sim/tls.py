"""A throwaway certificate authority and a server certificate for the loopback simulators.

The simulators speak real TLS so that clients run exactly the code paths they use against Azure
(MSAL insists on https URLs, and the app's `ca_bundle` setting gets exercised). The CA's private
key is never written: the files are only ever reused for the same server certificate.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_FOR = dt.timedelta(days=7)
# Reused files must still be valid for at least this long (a demo may run for hours).
MIN_REMAINING = dt.timedelta(days=1)


class TlsFiles(NamedTuple):
    ca_pem: Path
    cert_pem: Path
    key_pem: Path


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # the file may have existed with a wider mode
        handle.write(data)


def _still_valid(files: TlsFiles) -> bool:
    if not all(p.is_file() for p in files):
        return False
    try:
        cert = x509.load_pem_x509_certificate(files.cert_pem.read_bytes())
        x509.load_pem_x509_certificate(files.ca_pem.read_bytes())
    except ValueError:
        return False
    return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > MIN_REMAINING


def make_tls(directory: Path) -> TlsFiles:
    """CA and server certificate (SAN 127.0.0.1 and localhost) in `directory`, reused when valid."""
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "sim-ca.pem", directory / "sim-server.pem", directory / "sim-server-key.pem")
    if _still_valid(files):
        return files

    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(hours=1), now + VALID_FOR  # an hour back: tolerate clock skew
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kms-connect simulator CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    # Extensions chosen so that strict verifiers (Python 3.13's VERIFY_X509_STRICT) accept it too.
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    _write_private(files.ca_pem, ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_private(files.cert_pem, cert.public_bytes(serialization.Encoding.PEM))
    _write_private(
        files.key_pem,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    return files

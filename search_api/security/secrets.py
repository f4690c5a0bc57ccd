"""Key material the API needs, created on first use under ``security.secrets_dir`` (never committed).

* ``signing_key.pem``: the EC P-256 private key of the API's own token issuer (demo / local accounts);
  its public half is one of the keys tokens are verified against.
* ``pseudonym.key``: 32 random bytes keying the researchers' pseudonyms and per-patient date shifts.
  Losing it changes every pseudonym; leaking it lets anyone re-identify pseudonyms, so it is a secret.

Files are written with mode 0600 in a 0700 directory.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    try:
        path.chmod(0o700)
    except OSError:  # a mounted volume may refuse: the files themselves are still 0600
        pass
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write *data* to *path* readable by the owner only (atomically: no half-written key)."""
    _private_dir(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def signing_key(secrets_dir: Path) -> ec.EllipticCurvePrivateKey:
    """The local issuer's private key, generated the first time it is needed."""
    path = secrets_dir / "signing_key.pem"
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        write_private(path, pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not an EC private key")
    return loaded


def pseudonym_key(secrets_dir: Path) -> bytes:
    """The key of researchers' pseudonyms and date shifts, generated the first time it is needed."""
    path = secrets_dir / "pseudonym.key"
    if not path.exists():
        write_private(path, secrets.token_bytes(32))
    return path.read_bytes()

"""Which transfer syntaxes can be decoded here, and what to install for the others.

Kept apart from the decoding itself because the answer is also useful on its
own (an admin page, the indexer's start-up log) and because its failure message
is the one a person acts on: it names the transfer syntax and the pip package
that would decode it, or says that no Python decoder exists (video codecs).
"""

from __future__ import annotations

import copy

import pydicom.uid as uids
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import get_decoder
from pydicom.uid import UID

from .errors import ImageReadError

_LIBJPEG = "pylibjpeg pylibjpeg-libjpeg"
_OPENJPEG = "pylibjpeg pylibjpeg-openjpeg"
#: The pip packages that provide a decoder for each compressed transfer syntax.
PIP_DECODERS: dict[str, str] = {
    uids.JPEGBaseline8Bit: _LIBJPEG + " (or pillow)",
    uids.JPEGExtended12Bit: _LIBJPEG + " (or pillow)",
    uids.JPEGLossless: _LIBJPEG,
    uids.JPEGLosslessSV1: _LIBJPEG,
    uids.JPEGLSLossless: _LIBJPEG,
    uids.JPEGLSNearLossless: _LIBJPEG,
    uids.JPEG2000Lossless: _OPENJPEG + " (or pillow)",
    uids.JPEG2000: _OPENJPEG + " (or pillow)",
    uids.HTJ2KLossless: _OPENJPEG,
    uids.HTJ2KLosslessRPCL: _OPENJPEG,
    uids.HTJ2K: _OPENJPEG,
    uids.RLELossless: "pylibjpeg pylibjpeg-rle",
}


def supported_transfer_syntaxes() -> dict[str, str]:
    """UID -> name of every transfer syntax the installed decoders can handle now."""
    found: dict[str, str] = {}
    for value in vars(uids).values():
        if not isinstance(value, UID) or not value.is_transfer_syntax or value in found:
            continue
        try:
            if get_decoder(value).is_available:
                found[str(value)] = value.name
        except NotImplementedError:
            continue
    return found


def with_transfer_syntax(ds: Dataset, label: str) -> tuple[Dataset, UID]:
    """Return the dataset's transfer syntax, inferring it for legacy files that lack one.

    Headerless (ACR-NEMA style) files only ever hold native pixel data, so the
    encoding pydicom detected while parsing tells which native syntax applies.
    The caller's dataset is not modified: a shallow copy gets the file meta.
    """
    meta = ds.get("file_meta")
    tsyntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if tsyntax:
        return ds, UID(str(tsyntax))
    implicit, little = getattr(ds, "original_encoding", (None, None))
    if implicit is None or little is None:
        raise ImageReadError("no transfer syntax in the file meta and the encoding is unknown", label)
    inferred = (
        uids.ImplicitVRLittleEndian if implicit else uids.ExplicitVRLittleEndian if little else uids.ExplicitVRBigEndian
    )
    patched = copy.copy(ds)
    patched.file_meta = FileMetaDataset()
    patched.file_meta.TransferSyntaxUID = inferred
    return patched, inferred


def require_decoder(tsyntax: UID, label: str) -> None:
    """Fail with the transfer syntax's name and the pip package that would decode it."""
    if not tsyntax.is_transfer_syntax:
        raise ImageReadError(
            f"unsupported transfer syntax {tsyntax}: not a standard DICOM transfer syntax "
            "(private or invalid); transcode the file to a standard one",
            label,
        )
    try:
        decoder = get_decoder(tsyntax)
    except NotImplementedError:
        raise ImageReadError(
            f"unsupported transfer syntax '{tsyntax.name}' ({tsyntax}): no Python decoder exists "
            "for it (video or exotic codec); transcode it first, e.g. with dcmtk or gdcmconv",
            label,
        ) from None
    if not decoder.is_available:
        package = PIP_DECODERS.get(tsyntax, "pylibjpeg with its plugins, or python-gdcm")
        raise ImageReadError(
            f"unsupported transfer syntax '{tsyntax.name}' ({tsyntax}): no decoder installed; "
            f"`pip install {package}` would decode it",
            label,
        )

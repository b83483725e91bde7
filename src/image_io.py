"""Reading image files so that a damaged one is an error, never a silently half-decoded picture.

``cv2.imread`` decodes a truncated JPEG without complaint: libjpeg prints
"Premature end of JPEG file" on stderr and fills the missing rows with grey,
and a cut PNG can come back the same way. Training would learn from that grey
and an evaluation would score a tracker on it. ``read_image`` therefore checks
that the file is complete before decoding it:

* JPEG: the data must end with the end-of-image marker ``FF D9`` (trailing
  padding of zero bytes / whitespace allowed);
* PNG: the data must end with the ``IEND`` chunk;
* a file that fails this cheap test is fully decoded by Pillow (which raises
  on truncated data) before being rejected, so a valid JPEG with extra bytes
  after its end marker (some cameras append data) is still accepted.

Every failure is an ``ImageError`` whose message names the file; callers add
the sequence / frame / sub-dataset.
"""
import os

import cv2
import numpy as np

_JPEG_SOI, _JPEG_EOI = b"\xff\xd8", b"\xff\xd9"
_PNG_SIGNATURE, _PNG_IEND = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"
_PADDING = b"\x00 \t\r\n"


class ImageError(ValueError):
    """An image file is missing, unreadable, truncated or corrupt (message names the file)."""


def _complete_by_markers(data):
    """True / False when the format's end marker decides it, None for formats without one."""
    if data.startswith(_JPEG_SOI):
        return data.rstrip(_PADDING).endswith(_JPEG_EOI)
    if data.startswith(_PNG_SIGNATURE):
        return data.endswith(_PNG_IEND)
    return None


def _pillow_decodes(data):
    import io

    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
        return True
    except Exception:  # noqa: BLE001  (PIL raises OSError, SyntaxError, ValueError, ...)
        return False


def check_image_bytes(data):
    """None when ``data`` looks like a complete image file, else a short reason."""
    if not data:
        return "empty file"
    complete = _complete_by_markers(data)
    if complete is False and not _pillow_decodes(data):
        return "truncated or corrupt (no end-of-image marker; the decoder stops early)"
    return None


def read_image(path, flags=cv2.IMREAD_COLOR):
    """``cv2.imread(path, flags)`` that raises ``ImageError`` for missing, truncated or corrupt files."""
    if not os.path.isfile(path):
        raise ImageError(f"missing image file {path}")
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise ImageError(f"unreadable image {path}: {e.strerror or e}") from None
    reason = check_image_bytes(data.tobytes())
    if reason:
        raise ImageError(f"corrupt image {path}: {reason}")
    image = cv2.imdecode(data, flags)
    if image is None:
        raise ImageError(f"corrupt image {path}: not a decodable image")
    return image


__all__ = ["ImageError", "check_image_bytes", "read_image"]

"""Preview images: must decode with Pillow; stored as PNG, JPEG or WebP."""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from api.cloud.errors import CloudError

PREVIEW_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
MAX_PREVIEW_PIXELS = 8192 * 8192


def check_preview(data: bytes, field: str = "preview") -> str:
    """Decode ``data`` fully; return the file extension to store it under, or 400."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                width, height = probe.size
                probe.verify()
            if fmt not in PREVIEW_FORMATS:
                raise CloudError(400, f"{field}: {fmt} images are not supported; upload PNG, JPEG or WebP.")
            if width * height > MAX_PREVIEW_PIXELS:
                raise CloudError(400, f"{field}: the image is too large ({width}x{height} pixels).")
            with Image.open(io.BytesIO(data)) as image:
                image.load()
    except CloudError:
        raise
    except UnidentifiedImageError as exc:
        raise CloudError(400, f"{field}: not an image Pillow can read (upload PNG, JPEG or WebP).") from exc
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise CloudError(400, f"{field}: the image does not decode ({exc}).") from exc
    return PREVIEW_FORMATS[fmt]

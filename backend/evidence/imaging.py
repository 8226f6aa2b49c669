"""The one module that touches Pillow: checks, decoding and re-encoding of received photos.

Order matters, and every step before decoding is cheap:
1. the body is not empty and starts with the magic bytes of an allowed format (JPEG, PNG, WebP;
   HEIC only when the optional `heif` extra is installed);
2. Pillow opens it with only that one decoder allowed and reads the header, nothing more;
3. the pixel count from the header is checked against the limit (decompression bombs stop here);
4. JPEGs are drafted to the real target box in stored orientation, so libjpeg decodes at 1/2, 1/4
   or 1/8 scale; the display copy is resized with a reducing gap, then turned upright by its EXIF
   orientation; the thumbnail is made from the display copy;
5. a colour profile larger than MAX_ICC_BYTES (a profile can carry megabytes of anything) is
   applied to the display copy's pixels, converting them to sRGB, and dropped; a small one is kept;
6. both are encoded as JPEG q82 from images whose `info` was emptied: no EXIF, no GPS, no comment,
   no XMP; only a small ICC profile is passed on. Neither copy is ever larger than its box, and a
   photo smaller than the box is never enlarged.
Only the first frame of an animated image is ever decoded.
Pillow's exceptions never leave this module: they become PhotoRejected with a translatable message.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError

from backend.i18n import lazy_gettext as _l

try:  # the optional `heif` extra (pillow-heif is GPL: never a hard dependency)
    from pillow_heif import register_heif_opener  # type: ignore[import-not-found,unused-ignore]

    register_heif_opener()
    HEIF_AVAILABLE = True
except ImportError:  # pragma: no cover - depends on the installed extras
    HEIF_AVAILABLE = False

DISPLAY_LONG_SIDE = 1600
THUMB_LONG_SIDE = 320
JPEG_QUALITY = 82
# Real camera and screen profiles are 0.5-4 KB (sRGB IEC61966-2.1 is 3 KB; Display P3 about 0.5 KB);
# anything past this is converted away rather than copied into every stored photo.
MAX_ICC_BYTES = 64 * 1024
RESAMPLE = Image.Resampling.HAMMING
# Pillow's own bomb check warns between its limit and twice it, then raises; ours is stricter and
# runs first on every image we accept, so its warning is noise.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
# Phones and editors write plenty of malformed EXIF; we drop EXIF anyway, so Pillow's notes on it are noise.
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.TiffImagePlugin")
# A truncated file is refused, never padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_OFFSET_TIME_ORIGINAL = 0x9011
_ORIENTATION = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


class PhotoRejected(Exception):
    """The upload is not a photo we accept. `message` is shown to the person; `status` is the 4xx."""

    def __init__(self, code: str, message: Any, status: int, params: dict[str, str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message  # lazy: translated in the language of the request that shows it
        self.status = status
        self.params = params or {}

    def text(self) -> str:
        return str(self.message) % self.params if self.params else str(self.message)


def _empty() -> PhotoRejected:
    return PhotoRejected("empty", _l("The photo is empty. Please choose the photo again."), 400)


def _unsupported() -> PhotoRejected:
    return PhotoRejected(
        "unsupported_type",
        _l("This file is not a photo we can accept. Please send a JPEG, PNG or WebP photo."),
        415,
    )


def _damaged() -> PhotoRejected:
    return PhotoRejected(
        "damaged",
        _l("The photo file is damaged or incomplete. Please take or choose the photo again."),
        422,
    )


def _too_many_pixels(limit: int) -> PhotoRejected:
    message = _l(
        "This photo has too many pixels (more than %(limit)s megapixels). Please send a smaller photo."
    )
    return PhotoRejected("too_many_pixels", message, 413, {"limit": f"{limit / 1e6:g}"})


def decode_too_slow() -> PhotoRejected:
    return PhotoRejected(
        "decode_too_slow",
        _l("Reading this photo took too long; nothing was saved. Please try again, or send a smaller photo."),
        503,
    )


def sniff_format(data: bytes) -> str:
    """The Pillow format name for these leading bytes, or PhotoRejected. Names and types are ignored."""
    if not data:
        raise _empty()
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        if not HEIF_AVAILABLE:
            raise PhotoRejected(
                "heic_unavailable",
                _l(
                    "HEIC photos cannot be read on this server. Please send the photo as JPEG "
                    '(on an iPhone: Settings, Camera, Formats, "Most Compatible").'
                ),
                415,
            )
        return "HEIF"
    raise _unsupported()


@dataclass(frozen=True, slots=True)
class Rendition:
    data: bytes
    sha256: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class ProcessedPhoto:
    received_sha256: str
    received_bytes: int
    received_format: str
    received_width: int
    received_height: int
    display: Rendition
    thumb: Rendition
    phash: int  # unsigned 64-bit difference hash of the display copy
    captured_at: datetime | None  # naive local camera time, or aware when EXIF gave an offset


def _fit(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    width, height = size
    scale = long_side / max(width, height)
    if scale >= 1:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def _capture_time(exif: Image.Exif) -> datetime | None:
    try:
        ifd = exif.get_ifd(_EXIF_IFD)
        raw = ifd.get(_DATETIME_ORIGINAL)
        if not isinstance(raw, str):
            return None
        taken = datetime.strptime(raw.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")  # noqa: DTZ007
        offset = ifd.get(_OFFSET_TIME_ORIGINAL)
        if isinstance(offset, str) and len(offset.strip("\x00 ")) == 6:
            return datetime.fromisoformat(taken.isoformat() + offset.strip("\x00 "))
        return taken
    except (ValueError, TypeError, KeyError, OSError, SyntaxError):
        return None  # a malformed EXIF block costs the capture time, never the photo


def _to_rgb(image: Image.Image) -> tuple[Image.Image, bytes | None]:
    """An RGB or L image ready for JPEG, and the ICC profile that still describes its pixels."""
    icc = image.info.get("icc_profile") or None
    mode = image.mode
    if mode in ("RGB", "L"):
        return image, icc
    if mode == "CMYK":
        if icc:
            try:  # convert through the embedded profile to sRGB, which then needs no profile
                source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                converted = ImageCms.profileToProfile(
                    image, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
                )
                if converted is not None:
                    return converted, None
            except (ImageCms.PyCMSError, OSError, ValueError):
                pass
        return image.convert("RGB"), None
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale down to 8 bits rather than clipping everything above 255 to white.
        wide = image.convert("I")
        return wide.point(lambda value: value / 256).convert("L"), icc
    if mode in ("RGBA", "LA", "PA", "P", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        background.alpha_composite(rgba)
        return background.convert("RGB"), icc
    return image.convert("RGB"), icc


def _to_srgb(image: Image.Image, icc: bytes | None) -> tuple[Image.Image, bytes | None]:
    """A small profile is kept as it is; a large one is applied to the pixels (to sRGB) and dropped.
    A large profile that does not parse is dropped unapplied: the colours may shift a little, but a
    profile Little CMS cannot read is not one a viewer would have applied either."""
    if not icc or len(icc) <= MAX_ICC_BYTES:
        return image, icc
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        converted = None
    return (converted if converted is not None else image), None


def _encode(image: Image.Image, icc: bytes | None) -> Rendition:
    image.info = {}  # Pillow re-saves info["comment"], XMP, EXIF and friends unless they are gone
    buffer = io.BytesIO()
    options: dict[str, Any] = {"quality": JPEG_QUALITY}
    if icc and len(icc) <= MAX_ICC_BYTES and image.mode == "RGB":
        options["icc_profile"] = icc
    image.save(buffer, "JPEG", **options)
    data = buffer.getvalue()
    return Rendition(data, hashlib.sha256(data).hexdigest(), image.width, image.height)


def difference_hash(image: Image.Image) -> int:
    """64-bit dHash: is each of 8x8 cells brighter than its right neighbour? Robust to re-encoding."""
    small = image.convert("L").resize((9, 8), Image.Resampling.BILINEAR)
    pixels = small.tobytes()  # 72 bytes, one per pixel in mode L
    value = 0
    for row in range(8):
        for col in range(8):
            left, right = pixels[row * 9 + col], pixels[row * 9 + col + 1]
            value = (value << 1) | (1 if left > right else 0)
    return value


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & 0xFFFF_FFFF_FFFF_FFFF).bit_count()


def process_photo(data: bytes, *, max_pixels: int, received_sha256: str | None = None) -> ProcessedPhoto:
    """Check, decode and re-encode one received photo. Blocking: run it in a worker thread."""
    received_format = sniff_format(data)
    try:
        return _process(data, received_format, max_pixels, received_sha256)
    except PhotoRejected:
        raise
    except Image.DecompressionBombError:
        raise _too_many_pixels(max_pixels) from None
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        IndexError,
        TypeError,
        KeyError,
        struct.error,
        zlib.error,
    ):
        # Pillow reports truncated, corrupt and lying files through all of these.
        raise _damaged() from None
    except MemoryError:
        raise _damaged() from None


def _process(
    data: bytes, received_format: str, max_pixels: int, received_sha256: str | None
) -> ProcessedPhoto:
    # Only the one decoder the magic bytes named may run (JPEG's also opens phones' MPO files).
    with Image.open(io.BytesIO(data), formats=[received_format]) as image:
        width, height = image.size
        if width < 1 or height < 1:
            raise _damaged()
        if width * height > max_pixels:
            raise _too_many_pixels(max_pixels)
        exif = image.getexif()
        captured_at = _capture_time(exif)
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)  # the first frame only; the others are never decoded
        display_box = _fit(image.size, DISPLAY_LONG_SIDE)
        # The box is in stored orientation, so libjpeg decodes at the smallest scale that still
        # covers it (1/2 for a 12-megapixel photo); other formats ignore draft().
        image.draft(None, display_box)
        image.load()
        rgb, icc = _to_rgb(image)
        # Resize before turning upright: the same pixels either way, but the rotation then moves
        # 1.9 instead of 3 megapixels. HAMMING with a reducing gap measured 24 ms against LANCZOS's
        # 51 ms on a drafted 12-megapixel photo, with no visible difference at a 1.26x reduction.
        display = (
            rgb.resize(display_box, RESAMPLE, reducing_gap=2.0) if rgb.size != display_box else rgb.copy()
        )
    # ImageOps.exif_transpose's own table, applied directly: exif_transpose also re-serialises the EXIF
    # block to drop its orientation tag, which raises on malformed EXIF (found by fuzzing), and we
    # discard that block anyway.
    orientation = exif.get(_ORIENTATION, 1)
    method = _TRANSPOSE.get(orientation) if isinstance(orientation, int) else None
    if method is not None:
        display = display.transpose(method)
    # After the resize: converting 1.9 rather than 12 megapixels. The thumbnail, made from this copy,
    # inherits the conversion.
    display, icc = _to_srgb(display, icc)
    thumb_box = _fit(display.size, THUMB_LONG_SIDE)
    thumb = (
        display.resize(thumb_box, RESAMPLE, reducing_gap=2.0) if display.size != thumb_box else display.copy()
    )
    phash = difference_hash(thumb)  # the thumbnail is the display copy, smaller: same hash, cheaper
    return ProcessedPhoto(
        received_sha256=received_sha256 or hashlib.sha256(data).hexdigest(),
        received_bytes=len(data),
        received_format=received_format,
        received_width=width,
        received_height=height,
        display=_encode(display, icc),
        thumb=_encode(thumb, icc),
        phash=phash,
        captured_at=captured_at,
    )


def read_jpeg_metadata(data: bytes) -> dict[str, Any]:
    """What a stored JPEG carries besides pixels (for `carelog check` and the tests)."""
    with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
        return {
            "size": image.size,
            "exif": bool(image.getexif()),
            "keys": sorted(
                k for k in image.info if k not in ("jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi")
            ),
        }

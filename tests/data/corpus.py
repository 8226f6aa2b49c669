"""A corpus of good, odd and hostile uploads, generated at test time (no binaries in the repository).

Good photos are small and asymmetric: the upright picture has a red top-left quadrant, a green
top-right, a blue bottom-left and a white bottom-right, so a test can tell whether the stored copy is
upright by sampling four points. Every good JPEG carries GPS, a device serial, a capture time, a
comment and XMP, which must all be gone from what is stored.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

RED, GREEN, BLUE, WHITE = (220, 30, 30), (30, 180, 60), (30, 60, 220), (250, 250, 250)
CAPTURED = "2026:11:20 09:30:00"
GPS = {1: "N", 2: (31.0, 14.0, 30.0), 3: "E", 4: (121.0, 28.0, 12.0)}
SERIAL = "SN-4F2A-0099"
HTML = b"<html><body><script>alert('x')</script></body></html>"

# The inverse of what EXIF orientation n asks a viewer to do: stored = INVERSE[n](upright).
_INVERSE: dict[int, Image.Transpose | None] = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@dataclass(frozen=True)
class Sample:
    name: str
    data: bytes
    # None for a good photo; else the status the upload must get.
    refused_with: int | None = None
    upright: bool = True  # good photos: the quadrant pattern must come out upright


def quadrants(size: tuple[int, int] = (640, 480), mode: str = "RGB") -> Image.Image:
    width, height = size
    image = Image.new("RGB", size, WHITE)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width // 2 - 1, height // 2 - 1), fill=RED)
    draw.rectangle((width // 2, 0, width - 1, height // 2 - 1), fill=GREEN)
    draw.rectangle((0, height // 2, width // 2 - 1, height - 1), fill=BLUE)
    return image.convert(mode) if mode != "RGB" else image


def exif_bytes(orientation: int = 1, *, with_gps: bool = True, captured: str = CAPTURED) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Model X"
    exif[0x8769] = {0x9003: captured, 0xA431: SERIAL}
    if with_gps:
        exif[0x8825] = GPS
    return exif.tobytes()


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def oriented_jpeg(orientation: int, size: tuple[int, int] = (640, 480), *, captured: str = CAPTURED) -> bytes:
    upright = quadrants(size)
    method = _INVERSE[orientation]
    stored = upright.transpose(method) if method is not None else upright
    return _save(
        stored,
        "JPEG",
        quality=90,
        exif=exif_bytes(orientation, captured=captured),
        comment=b"shot at No. 5 Wutong Lane",
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>',
    )


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height: a decompression bomb if it were decoded."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header is rewritten to claim width x height."""
    data = bytearray(_save(quadrants((64, 48)), "JPEG"))
    at = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, at + 5, height, width)
    return bytes(data)


def sixteen_bit_png() -> bytes:
    gradient = Image.linear_gradient("L").resize((256, 256))
    wide = Image.new("I;16", gradient.size)
    wide.putdata([value * 257 for value in gradient.tobytes()])
    return _save(wide, "PNG")


def alpha_png() -> bytes:
    image = quadrants().convert("RGBA")
    draw = ImageDraw.Draw(image)
    draw.ellipse((280, 200, 360, 280), fill=(0, 0, 0, 0))  # a transparent hole in the middle
    return _save(image, "PNG")


def animated_webp(frames: int = 2000) -> bytes:
    rnd = random.Random(7)
    first = quadrants((64, 48))
    others = [
        Image.new("RGB", (64, 48), tuple(rnd.randrange(256) for _ in range(3))) for _ in range(frames - 1)
    ]
    return _save(first, "WEBP", save_all=True, append_images=others, duration=20, lossless=False)


def animated_png(frames: int = 2000) -> bytes:
    rnd = random.Random(8)
    first = quadrants((64, 48))
    others = [
        Image.new("RGB", (64, 48), tuple(rnd.randrange(256) for _ in range(3))) for _ in range(frames - 1)
    ]
    return _save(first, "PNG", save_all=True, append_images=others, duration=20)


def phone_photo(size: tuple[int, int] = (4032, 3024), *, seed: int = 4, orientation: int = 6) -> bytes:
    """A phone-like JPEG: soft shapes plus sensor-like noise, q92, with full EXIF and GPS."""
    width, height = size
    rnd = random.Random(seed)
    small = Image.new("RGB", (width // 8, height // 8))
    draw = ImageDraw.Draw(small)
    for _ in range(60):
        x, y, r = rnd.randrange(width // 8), rnd.randrange(height // 8), rnd.randrange(5, 120)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rnd.randrange(256) for _ in range(3)))
    base = small.filter(ImageFilter.GaussianBlur(6)).resize(size, Image.Resampling.BICUBIC)
    # Seeded grain (Image.effect_noise is not seedable), so the same seed gives the same bytes.
    grain = Image.frombytes("L", size, rnd.randbytes(width * height)).convert("RGB")
    return _save(Image.blend(base, grain, 0.12), "JPEG", quality=92, exif=exif_bytes(orientation))


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def build_corpus() -> list[Sample]:
    good_jpeg = oriented_jpeg(1)
    samples = [Sample(f"orientation-{n}.jpg", oriented_jpeg(n)) for n in range(1, 9)]
    samples += [
        Sample("cmyk.jpg", _save(quadrants(mode="CMYK"), "JPEG", quality=90)),
        Sample("greyscale.jpg", _save(quadrants(mode="L"), "JPEG", quality=90), upright=False),
        Sample("sixteen-bit.png", sixteen_bit_png(), upright=False),
        Sample("alpha.png", alpha_png()),
        Sample("photo.webp", _save(quadrants(), "WEBP", quality=90)),
        Sample(
            "progressive.jpg", _save(quadrants(), "JPEG", quality=90, progressive=True, exif=exif_bytes(1))
        ),
        Sample("panorama.jpg", _save(quadrants((6000, 900)), "JPEG", quality=85, exif=exif_bytes(1))),
        Sample("html-in-comment.jpg", _save(quadrants(), "JPEG", quality=90, comment=HTML)),
        Sample("animated.webp", animated_webp(300)),
        Sample("animated.png", animated_png(300)),
        Sample("palette.png", _save(quadrants().convert("P"), "PNG")),
        # refused, and nothing stored
        Sample("bomb.png", png_header_only(100_000, 100_000), refused_with=413),
        Sample("wide.png", png_header_only(2**31 - 1, 1), refused_with=413),
        Sample("bomb.jpg", jpeg_claiming(65_000, 65_000), refused_with=413),
        Sample("truncated.jpg", good_jpeg[: len(good_jpeg) // 2], refused_with=422),
        Sample("truncated.png", alpha_png()[:300], refused_with=422),
        Sample("empty.jpg", b"", refused_with=400),
        Sample("page.jpg", HTML, refused_with=415),
        Sample("drawing.jpg", SVG, refused_with=415),
        Sample("document.jpg", PDF, refused_with=415),
        Sample("scan.jpg", _save(quadrants(), "TIFF"), refused_with=415),
        Sample("animation.jpg", _save(quadrants(), "GIF"), refused_with=415),
        Sample("icon.jpg", _save(quadrants((32, 32)), "ICO"), refused_with=415),
        Sample("magic-only.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 100, refused_with=422),
        Sample("riff-only.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 20, refused_with=422),
        Sample(
            "iphone.heic",
            b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
            refused_with=415,
        ),
    ]
    return samples


def write_corpus(folder: Path, samples: list[Sample] | None = None) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for sample in samples or build_corpus():
        path = folder / sample.name
        path.write_bytes(sample.data)
        paths[sample.name] = path
    return paths


def is_upright(image: Image.Image, tolerance: int = 60) -> bool:
    """The four quadrant colours are where the upright picture has them."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    points = {
        RED: (width // 4, height // 4),
        GREEN: (3 * width // 4, height // 4),
        BLUE: (width // 4, 3 * height // 4),
        WHITE: (3 * width // 4, 3 * height // 4),
    }

    def close(got: object, want: tuple[int, int, int]) -> bool:
        assert isinstance(got, tuple)
        return all(abs(a - b) <= tolerance for a, b in zip(got, want, strict=True))

    return all(close(rgb.getpixel(xy), colour) for colour, xy in points.items())

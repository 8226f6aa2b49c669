"""What a stored photo copy may carry besides its pixels: a small colour profile at most (a large one
is applied to the pixels, converting them to sRGB), no XMP, no comment, no EXIF; and never more
pixels than its display box needs. Real JPEGs made here with Pillow, sent through the API, read back
through the serving routes, on both databases."""

from __future__ import annotations

import io
import struct

import httpx
from PIL import Image, ImageCms

from backend.evidence.imaging import MAX_ICC_BYTES
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.photos_support import api_put

XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:d="http://ns.example/d" d:payload="XMP-PAYLOAD-7781"/></rdf:RDF></x:xmpmeta>'
)
COMMENT = b"<script>alert('COMMENT-PAYLOAD-9313')</script>"
RED, GREEN = (230, 20, 20), (20, 200, 40)


def icc_profile(*, pad_to: int, swap_red_and_blue: bool) -> bytes:
    """Little CMS's own sRGB profile with one extra private tag of `pad_to` bytes (a payload, as far as
    any viewer is concerned), optionally with its red and blue primaries swapped, so that applying it
    visibly changes the colours. The result is a well-formed profile: sizes and offsets are fixed up."""
    base = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    (count,) = struct.unpack(">I", base[128:132])
    entries = [struct.unpack(">4sII", base[132 + 12 * i : 144 + 12 * i]) for i in range(count)]
    body = base[132 + 12 * count :]
    offsets = {sig: (off + 12, size) for sig, off, size in entries}  # the table grows by one entry
    if swap_red_and_blue:
        offsets[b"rXYZ"], offsets[b"bXYZ"] = offsets[b"bXYZ"], offsets[b"rXYZ"]
    body += b"\0" * (-len(base) % 4)
    pad_offset = 132 + 12 * (count + 1) + len(body)
    payload = b"data" + b"\0" * 8 + (b"PROFILE-PAYLOAD-" * (pad_to // 16 + 1))[:pad_to]
    table = struct.pack(">I", count + 1) + b"".join(
        struct.pack(">4sII", sig, *offsets[sig]) for sig, _, _ in entries
    )
    table += struct.pack(">4sII", b"zpad", pad_offset, len(payload))
    profile = bytearray(base[:128] + table + body + payload)
    profile[0:4] = struct.pack(">I", len(profile))
    profile[84:100] = b"\0" * 16  # no profile ID (it would be the MD5 of the original)
    ImageCms.ImageCmsProfile(io.BytesIO(bytes(profile)))  # Little CMS accepts it
    return bytes(profile)


def two_colour_jpeg(size: tuple[int, int] = (640, 480), **options: object) -> bytes:
    image = Image.new("RGB", size, RED)
    image.paste(GREEN, (size[0] // 2, 0, size[0], size[1]))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, **options)
    return buffer.getvalue()


async def _stored_copies(client_as: ClientAs, world: World, data: bytes) -> list[bytes]:
    mother = await client_as(personas.CARING_MOTHER)
    sent = await api_put(mother, data, person_id=world.person_id("xiaoyu"))
    assert sent.status_code == 201, sent.text
    copies = []
    for url in (sent.json()["display_url"], sent.json()["thumb_url"]):
        served: httpx.Response = await mother.get(url)
        assert served.status_code == 200
        copies.append(served.content)
    return copies


def _opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data), formats=["JPEG"])
    image.load()
    return image


async def test_a_200_kb_colour_profile_is_applied_and_never_stored(client_as: ClientAs, world: World) -> None:
    profile = icc_profile(pad_to=200 * 1024, swap_red_and_blue=True)
    assert len(profile) > 200 * 1024
    sent = two_colour_jpeg(icc_profile=profile)
    assert len(_opened(sent).info["icc_profile"]) == len(profile)  # Pillow wrote it whole
    for copy in await _stored_copies(client_as, world, sent):
        image = _opened(copy)
        assert len(image.info.get("icc_profile") or b"") <= MAX_ICC_BYTES
        assert b"PROFILE-PAYLOAD-" not in copy
        # The profile said "what is stored as red is blue": the copy shows the colours it described.
        r, g, b = image.getpixel((image.width // 8, image.height // 2))  # type: ignore[misc]
        assert b > 150 and r < 100, (r, g, b)


async def test_a_small_colour_profile_is_kept_and_the_colours_left_alone(
    client_as: ClientAs, world: World
) -> None:
    profile = icc_profile(pad_to=1024, swap_red_and_blue=False)
    for copy in await _stored_copies(client_as, world, two_colour_jpeg(icc_profile=profile)):
        image = _opened(copy)
        assert image.info.get("icc_profile") == profile
        r, g, b = image.getpixel((image.width // 8, image.height // 2))  # type: ignore[misc]
        assert r > 200 and b < 60, (r, g, b)


async def test_xmp_comment_and_exif_are_in_no_stored_copy(client_as: ClientAs, world: World) -> None:
    exif = Image.Exif()
    exif[0x010F] = "EXIF-PAYLOAD-4471"  # Make
    exif[0x0131] = "EXIF-PAYLOAD-4471"  # Software
    sent = two_colour_jpeg(xmp=XMP, comment=COMMENT, exif=exif)
    received = _opened(sent)
    assert "xmp" in received.info and received.info["comment"] == COMMENT and received.getexif()
    for copy in await _stored_copies(client_as, world, sent):
        image = _opened(copy)
        assert not image.getexif()
        assert not {"xmp", "comment", "exif", "XML:com.adobe.xmp"} & set(image.info)
        for payload in (b"XMP-PAYLOAD-7781", b"COMMENT-PAYLOAD-9313", b"EXIF-PAYLOAD-4471", b"adobe:ns:meta"):
            assert payload not in copy


async def test_a_300_by_200_photo_is_never_enlarged(client_as: ClientAs, world: World) -> None:
    display, thumb = await _stored_copies(client_as, world, two_colour_jpeg((300, 200)))
    assert _opened(display).size == (300, 200)
    assert _opened(thumb).size[0] <= 300 and _opened(thumb).size[1] <= 200


async def test_a_large_photo_is_bounded_by_the_display_box_and_its_thumbnail_by_its_own(
    client_as: ClientAs, world: World
) -> None:
    display, thumb = await _stored_copies(client_as, world, two_colour_jpeg((3000, 1000)))
    assert _opened(display).size == (1600, 533)
    assert _opened(thumb).size == (320, 107)

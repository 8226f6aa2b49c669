"""The Pillow wrapper on its own: what comes out of good photos, and how every bad one is refused."""

from __future__ import annotations

import io
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from backend.evidence.imaging import PhotoRejected, difference_hash, hamming, process_photo, sniff_format
from tests.data.corpus import (
    CAPTURED,
    Sample,
    animated_png,
    animated_webp,
    build_corpus,
    is_upright,
    oriented_jpeg,
    phone_photo,
    png_header_only,
    quadrants,
)

LIMIT = 40_000_000
CORPUS = build_corpus()
GOOD = [s for s in CORPUS if s.refused_with is None]
BAD = [s for s in CORPUS if s.refused_with is not None]


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data), formats=["JPEG"])
    image.load()
    return image


@pytest.mark.parametrize("sample", GOOD, ids=[s.name for s in GOOD])
def test_good_photos_come_out_upright_with_no_metadata(sample: Sample) -> None:
    result = process_photo(sample.data, max_pixels=LIMIT)
    for rendition, long_side in ((result.display, 1600), (result.thumb, 320)):
        image = _open(rendition.data)
        assert image.size == (rendition.width, rendition.height)
        assert max(image.size) <= long_side
        assert not image.getexif()
        assert "comment" not in image.info and "xmp" not in image.info and "exif" not in image.info
        assert b"SN-4F2A" not in rendition.data and b"GPS" not in rendition.data
        if sample.upright:
            assert is_upright(image), sample.name


@pytest.mark.parametrize("sample", BAD, ids=[s.name for s in BAD])
def test_bad_files_are_refused_with_a_4xx_and_a_message(sample: Sample) -> None:
    with pytest.raises(PhotoRejected) as refused:
        process_photo(sample.data, max_pixels=LIMIT)
    assert refused.value.status == sample.refused_with
    assert refused.value.text()


def test_each_of_the_eight_orientations_comes_out_upright_and_with_its_real_shape() -> None:
    for orientation in range(1, 9):
        result = process_photo(oriented_jpeg(orientation, (800, 600)), max_pixels=LIMIT)
        assert (result.display.width, result.display.height) == (800, 600), orientation
        assert is_upright(_open(result.display.data)), orientation


def test_a_phone_photo_is_drafted_and_resized_to_1600_on_its_long_side() -> None:
    result = process_photo(phone_photo(orientation=6), max_pixels=LIMIT)
    # stored 4032x3024 landscape, EXIF says rotate: upright it is portrait
    assert (result.display.width, result.display.height) == (1200, 1600)
    assert (result.thumb.width, result.thumb.height) == (240, 320)
    assert (result.received_width, result.received_height) == (4032, 3024)
    assert result.captured_at is not None and result.captured_at.strftime("%Y:%m:%d %H:%M:%S") == CAPTURED


def test_the_icc_profile_is_kept() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    quadrants().save(buffer, "JPEG", icc_profile=profile)
    result = process_photo(buffer.getvalue(), max_pixels=LIMIT)
    assert _open(result.display.data).info.get("icc_profile") == profile


def test_sixteen_bit_greyscale_is_scaled_not_clipped_to_white() -> None:
    sample = next(s for s in GOOD if s.name == "sixteen-bit.png")
    image = _open(process_photo(sample.data, max_pixels=LIMIT).display.data).convert("L")
    # a top-to-bottom gradient survives; clipping would have made everything below the top white
    top, middle, bottom = (image.getpixel((128, y)) for y in (2, 128, 253))
    assert isinstance(top, int) and isinstance(middle, int) and isinstance(bottom, int)
    assert top < 20 and 100 < middle < 160 and bottom > 235


def test_transparency_becomes_white_not_black() -> None:
    sample = next(s for s in GOOD if s.name == "alpha.png")
    image = _open(process_photo(sample.data, max_pixels=LIMIT).display.data).convert("RGB")
    assert min(image.getpixel((320, 240))) > 230


@pytest.mark.parametrize("factor", [1.01, 1.5, 1.99, 2.5])
def test_a_header_over_the_pixel_limit_is_refused_before_decoding(factor: float) -> None:
    width = 8000
    height = int(LIMIT * factor / width)
    with pytest.raises(PhotoRejected) as refused:
        process_photo(png_header_only(width, height), max_pixels=LIMIT)
    assert refused.value.status == 413


def test_bombs_leave_memory_flat_even_many_at_once() -> None:
    bombs = [png_header_only(100_000, 100_000), png_header_only(2**31 - 1, 1), png_header_only(9_000, 8_000)]
    tracemalloc.start()
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(lambda d: _refusal(d), bombs * 20))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outcomes == [413] * 60
    assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"  # a decoded bomb would be gigabytes
    assert time.perf_counter() - started < 5


def _refusal(data: bytes) -> int:
    try:
        process_photo(data, max_pixels=LIMIT)
    except PhotoRejected as exc:
        return exc.status
    return 200


@pytest.mark.parametrize("make", [animated_webp, animated_png], ids=["webp", "apng"])
def test_an_animation_with_thousands_of_frames_gives_its_first_frame_quickly(make: object) -> None:
    assert callable(make)
    data = make(2000)
    started = time.perf_counter()
    result = process_photo(data, max_pixels=LIMIT)
    assert time.perf_counter() - started < 2.0
    assert is_upright(_open(result.display.data))  # frame 0 is the quadrant picture; the rest are flat


def test_the_difference_hash_survives_reencoding_but_tells_different_pictures_apart() -> None:
    original = quadrants((800, 600))
    buffer = io.BytesIO()
    original.resize((400, 300)).save(buffer, "JPEG", quality=40)
    reencoded = Image.open(buffer)
    assert hamming(difference_hash(original), difference_hash(reencoded)) <= 2
    other = quadrants((800, 600)).transpose(Image.Transpose.ROTATE_180)
    assert hamming(difference_hash(original), difference_hash(other)) > 10


def test_file_names_and_types_play_no_part_only_leading_bytes() -> None:
    assert sniff_format(oriented_jpeg(1)) == "JPEG"
    with pytest.raises(PhotoRejected):
        sniff_format(b"GIF89a" + b"\x00" * 20)


def test_pillow_runs_without_holding_the_gil_for_long() -> None:
    """Other threads keep running while a photo decodes: the event loop stays responsive."""
    data = phone_photo(seed=5)
    ticks = 0
    done = threading.Event()

    def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        started = time.perf_counter()
        process_photo(data, max_pixels=LIMIT)
        elapsed = time.perf_counter() - started
    finally:
        done.set()
        thread.join()
    assert ticks > elapsed * 1000 * 0.3, (ticks, elapsed)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.sampled_from([b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBP"]),
    body=st.binary(max_size=600),
)
def test_no_byte_string_is_anything_but_a_photo_or_a_clean_refusal(prefix: bytes, body: bytes) -> None:
    status = _refusal(prefix + body)
    assert status == 200 or 400 <= status < 500


_SEED_JPEG = oriented_jpeg(6, (96, 64))


@settings(max_examples=150, deadline=None)
@example(flips=[(41, 0)])  # malformed EXIF that ImageOps.exif_transpose could not re-serialise (a 500)
@given(st.lists(st.tuples(st.integers(0, len(_SEED_JPEG) - 1), st.integers(0, 255)), min_size=1, max_size=12))
def test_a_jpeg_with_flipped_bytes_never_breaks_the_pipeline(flips: list[tuple[int, int]]) -> None:
    data = bytearray(_SEED_JPEG)
    for at, value in flips:
        data[at] = value
    try:
        result = process_photo(bytes(data), max_pixels=LIMIT)
    except PhotoRejected as exc:
        status = exc.status
    else:
        status = 200
        assert not _open(result.display.data).getexif()
    assert status == 200 or 400 <= status < 500

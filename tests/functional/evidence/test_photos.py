"""Photos on a person's page: uploading without JS, who may see them, and what a served photo carries."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import uuid

import httpx
import pytest
from litestar import Litestar

from backend.db import Database
from tests import personas
from tests.conftest import ClientAs, World
from tests.data.corpus import HTML, oriented_jpeg, quadrants
from tests.functional.photos_support import (
    api_put,
    assert_clean_jpeg,
    audit_actions,
    form_upload,
    photo_count,
    stored_keys,
)


def _save_jpeg(**options: object) -> bytes:
    buffer = io.BytesIO()
    quadrants().save(buffer, "JPEG", **options)
    return buffer.getvalue()


PHOTO_LINK = re.compile(r'src="/photos/(\d+)/thumb"')


async def _mother_uploads(
    client_as: ClientAs, world: World, orientation: int = 6
) -> tuple[httpx.AsyncClient, int]:
    mother = await client_as(personas.CARING_MOTHER)
    response = await api_put(mother, oriented_jpeg(orientation), person_id=world.person_id("xiaoyu"))
    assert response.status_code == 201, response.text
    return mother, int(response.json()["id"])


async def test_caring_mother_uploads_a_photo_with_the_plain_form_and_sees_it_on_the_childs_page(
    client_as: ClientAs, world: World
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    child = world.person_id("xiaoyu")
    page = await mother.get(f"/people/{child}")
    assert 'enctype="multipart/form-data"' in page.text
    assert 'accept="image/*" capture="environment"' in page.text
    assert 'name="_csrf_token"' in page.text and "还没有照片。" in page.text
    response = await form_upload(mother, child, oriented_jpeg(6))
    assert response.status_code == 303
    assert re.fullmatch(rf"/people/{child}#photo-\d+", response.headers["location"])
    page = await mother.get(f"/people/{child}")
    (photo_id,) = PHOTO_LINK.findall(page.text)
    thumb = await mother.get(f"/photos/{photo_id}/thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"


async def test_the_same_form_sent_twice_stores_one_photo(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    child = world.person_id("xiaoyu")
    form_uuid = str(uuid.uuid4())
    first = await form_upload(mother, child, oriented_jpeg(1), client_uuid=form_uuid)
    second = await form_upload(mother, child, oriented_jpeg(1), client_uuid=form_uuid)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert await photo_count(database) == 1


async def test_a_bad_file_in_the_form_gets_a_chinese_message_and_nothing_is_stored(
    client_as: ClientAs, world: World, database: Database, running_app: Litestar
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    response = await form_upload(
        mother, world.person_id("xiaoyu"), b"<svg onload=alert(1)>", filename="a.jpg"
    )
    assert response.status_code == 415
    assert "这个文件不是我们能接收的照片" in response.text
    assert 'aria-invalid="true"' in response.text
    assert await photo_count(database) == 0 and await stored_keys(running_app) == []


async def test_served_photo_is_upright_and_carries_no_exif_or_gps(client_as: ClientAs, world: World) -> None:
    mother, photo_id = await _mother_uploads(client_as, world, orientation=6)
    for variant, long_side in (("display", 640), ("thumb", 320)):
        response = await mother.get(f"/photos/{photo_id}/{variant}")
        image = assert_clean_jpeg(response.content)
        assert max(image.size) == long_side and image.width > image.height  # upright: landscape again


async def test_served_photo_headers_forbid_sniffing_scripts_and_shared_caches(
    client_as: ClientAs, world: World
) -> None:
    mother, photo_id = await _mother_uploads(client_as, world)
    response = await mother.get(f"/photos/{photo_id}/display")
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert headers["cache-control"].startswith("private")
    assert re.fullmatch(r'"[0-9a-f]{64}"', headers["etag"])
    again = await mother.get(f"/photos/{photo_id}/display", headers={"if-none-match": headers["etag"]})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize("handle", [personas.SOCIAL_WORKER, personas.STAFF])
async def test_area_social_worker_and_staff_see_the_photo_and_their_view_is_audited(
    client_as: ClientAs, world: World, database: Database, handle: str
) -> None:
    mother, photo_id = await _mother_uploads(client_as, world)
    await mother.get(f"/photos/{photo_id}/display")  # the uploader's own view is not an audit event
    assert await audit_actions(database, "photo.viewed") == []
    viewer = await client_as(handle)
    page = await viewer.get(f"/people/{world.person_id('xiaoyu')}")
    assert f'src="/photos/{photo_id}/thumb"' in page.text
    assert (await viewer.get(f"/photos/{photo_id}/display")).status_code == 200
    (event,) = await audit_actions(database, "photo.viewed")
    assert event.actor_id == world.user_id(handle) and event.subject_id == str(photo_id)
    assert event.change == {"variant": "display"}


@pytest.mark.parametrize(
    "handle", [personas.OTHER_MOTHER, personas.OTHER_STREET_WORKER, personas.OUTSIDER, personas.NEIGHBOUR]
)
async def test_a_stranger_or_another_areas_worker_gets_404_for_the_photo(
    client_as: ClientAs, world: World, handle: str
) -> None:
    _mother, photo_id = await _mother_uploads(client_as, world)
    stranger = await client_as(handle)
    for variant in ("display", "thumb", "original"):
        response = await stranger.get(f"/photos/{photo_id}/{variant}")
        assert response.status_code == 404
    assert (await stranger.get("/photos/999999/display")).status_code == 404


async def test_signed_out_visitor_gets_404_not_a_redirect(
    client: httpx.AsyncClient, client_as: ClientAs, world: World
) -> None:
    _mother, photo_id = await _mother_uploads(client_as, world)
    response = await client.get(f"/photos/{photo_id}/display")
    assert response.status_code == 404 and "location" not in response.headers


async def test_a_photo_without_a_subject_is_the_uploaders_alone(client_as: ClientAs, world: World) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    response = await api_put(neighbour, oriented_jpeg(1))
    assert response.status_code == 201
    photo_id = response.json()["id"]
    assert (await neighbour.get(f"/photos/{photo_id}/display")).status_code == 200
    for handle in (personas.SOCIAL_WORKER, personas.STAFF):
        assert (await (await client_as(handle)).get(f"/photos/{photo_id}/display")).status_code == 404


async def test_nobody_can_attach_a_photo_to_a_person_they_may_not_see(
    client_as: ClientAs, world: World, database: Database, running_app: Litestar
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    duoduo = world.person_id("duoduo")
    assert (await api_put(mother, oriented_jpeg(1), person_id=duoduo)).status_code == 404
    assert (await form_upload(mother, duoduo, oriented_jpeg(1))).status_code == 404
    assert await photo_count(database) == 0 and await stored_keys(running_app) == []


async def test_a_photo_of_html_in_a_jpeg_comment_is_served_only_as_reencoded_pixels(
    client_as: ClientAs, world: World
) -> None:
    sent = _save_jpeg(comment=HTML)
    assert HTML in sent
    mother = await client_as(personas.CARING_MOTHER)
    created = await api_put(mother, sent, person_id=world.person_id("xiaoyu"))
    served = await mother.get(f"/photos/{created.json()['id']}/display")
    assert served.headers["content-type"] == "image/jpeg"
    assert_clean_jpeg(served.content)
    assert hashlib.sha256(served.content).hexdigest() == created.json()["display_sha256"]
    assert created.json()["received_sha256"] == hashlib.sha256(sent).hexdigest()


async def test_five_identical_puts_at_once_store_one_photo(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    same = uuid.uuid4()
    body = oriented_jpeg(3)
    responses = await asyncio.gather(
        *[api_put(mother, body, client_uuid=same, person_id=world.person_id("xiaoyu")) for _ in range(5)]
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await photo_count(database) == 1
    assert len(await audit_actions(database, "photo.uploaded")) == 1


async def test_same_uuid_with_other_bytes_is_409_and_another_users_uuid_leaks_nothing(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    taken = uuid.uuid4()
    original = await api_put(mother, oriented_jpeg(1), client_uuid=taken)
    assert original.status_code == 201
    retry = await api_put(mother, oriented_jpeg(1), client_uuid=taken)
    assert retry.status_code == 200 and retry.json() == original.json()
    different = await api_put(mother, oriented_jpeg(2), client_uuid=taken)
    assert different.status_code == 409
    other = await client_as(personas.OTHER_MOTHER)
    stolen = await api_put(other, oriented_jpeg(1), client_uuid=taken)
    assert stolen.status_code == 409
    assert stolen.json()["detail"] == different.json()["detail"]
    assert (
        str(original.json()["id"]) not in stolen.text
        and original.json()["received_sha256"] not in stolen.text
    )
    assert await photo_count(database) == 1

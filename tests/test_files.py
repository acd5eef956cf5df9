"""Evidence files at casework: sniffed from their content, cleaned of metadata, capped in
size, stored by digest, published by digest, hidden by a correction, and read only in the
record's scope."""
import hashlib
import io

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from tests.test_casework import World, session

GPS_IFD, EXIF_IFD = 0x8825, 0x8769


def photo(taken: str = "2026:03:10 09:30:00", size=(640, 480), kind: str = "JPEG",
          colour=(200, 120, 40)) -> bytes:
    """A camera's photo: EXIF with a capture time, a GPS position and the device's make
    (two photos differ by their pixels: metadata is stripped, so it makes no new file)."""
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 15"  # Model
    exif.get_ifd(EXIF_IFD)[0x9003] = taken  # DateTimeOriginal
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 13.0, 45.0), 3: "E", 4: (121.0, 28.0, 1.0)})
    out = io.BytesIO()
    image.save(out, kind, exif=exif.tobytes())
    return out.getvalue()


def pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_metadata({"/Author": "张秀英", "/Title": "签到表"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def world(backend):
    w = World(backend)
    w.session = w.post("/sessions", session(), w.w1).json["id"]
    return w


def upload(world, data: bytes, name: str, token, record=None):
    path = f"/records/{record or 'session/' + world.session}/files"
    return world.client.post(path, headers=token, content_type="multipart/form-data",
                             data={"file": (io.BytesIO(data), name)})


def test_a_photo_is_stored_cleaned_with_its_capture_time_and_a_thumbnail(world):
    sent = photo()
    made = upload(world, sent, "IMG_0001.jpg", world.w1)
    assert made.status_code == 201, made.json
    body = made.json
    assert body["media_type"] == "image/jpeg" and body["captured_at"].startswith(
        "2026-03-10T09:30:00")
    stored = world.get(f"/records/session/{world.session}/files/{body['digest']}", world.w1)
    assert stored.status_code == 200 and stored.mimetype == "image/jpeg"
    assert hashlib.sha256(stored.data).hexdigest() == body["digest"] != hashlib.sha256(
        sent).hexdigest()
    assert body["size"] == len(stored.data)
    exif = Image.open(io.BytesIO(stored.data)).getexif()
    assert GPS_IFD not in exif and not exif.get_ifd(GPS_IFD) and 0x010F not in exif
    assert not exif.get_ifd(EXIF_IFD)  # the capture time is a field, not in the file
    thumb = world.get(f"/records/session/{world.session}/files/{body['digest']}/thumbnail",
                      world.w1)
    assert thumb.status_code == 200 and max(Image.open(io.BytesIO(thumb.data)).size) <= 320


def test_the_digest_is_in_the_event_and_in_the_chain_but_no_name(world):
    body = upload(world, photo(), "张秀英-签到.jpg", world.w1).json
    attached = world.events("evidence.attached")
    assert len(attached) == 1
    data = attached[0].data
    assert data == {"record_type": "session", "record_id": world.session, "decision_id": None,
                    "community_id": "c1", "record_on": "2026-03-10",
                    "digest": body["digest"], "media_type": "image/jpeg",
                    "size": body["size"], "captured_at": "2026-03-10T09:30:00"}
    assert "张秀英" not in attached[0].to_json()
    chain = world.events()
    after = chain[chain.index(attached[0]) + 1:] if attached[0] in chain else []
    assert attached[0].prevhash == chain[chain.index(attached[0]) - 1].hash()
    assert after == []  # the newest link of casework's chain covers the digest


def test_the_type_comes_from_the_content_not_the_name(world):
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "blue").save(out, "PNG")
    png = upload(world, out.getvalue(), "minutes.pdf", world.w1)
    assert png.status_code == 201 and png.json["media_type"] == "image/png"
    html = upload(world, b"<html><script>alert(1)</script></html>", "photo.jpg", world.w1)
    assert html.status_code == 422 and "file" in html.json["error"]["fields"]
    broken = upload(world, b"\xff\xd8\xff\xe0" + b"\x00" * 100, "photo.jpg", world.w1)
    assert broken.status_code == 422 and "file" in broken.json["error"]["fields"]
    missing = world.client.post(f"/records/session/{world.session}/files", headers=world.w1,
                                content_type="multipart/form-data", data={})
    assert missing.status_code == 422 and "file" in missing.json["error"]["fields"]


def test_a_pdf_is_checked_and_kept_without_its_document_information(world):
    made = upload(world, pdf(), "scan.pdf", world.w1)
    assert made.status_code == 201 and made.json["media_type"] == "application/pdf"
    stored = world.get(f"/records/session/{world.session}/files/{made.json['digest']}",
                       world.w1)
    reader = PdfReader(io.BytesIO(stored.data))
    assert len(reader.pages) == 1 and "/Author" not in (reader.metadata or {})
    assert made.json["captured_at"] is None
    fake = upload(world, b"%PDF-1.7\nnot really", "scan.pdf", world.w1)
    assert fake.status_code == 422


def test_a_heic_photo_is_kept_as_jpeg(world):
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(out, "HEIF")
    made = upload(world, out.getvalue(), "IMG_0002.HEIC", world.w1)
    assert made.status_code == 201 and made.json["media_type"] == "image/jpeg"


def test_size_caps_per_file_and_per_record(world, monkeypatch):
    from services.casework import files
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 20_000)
    big = upload(world, photo(size=(1600, 1200)) + b"\x00" * 20_000, "big.jpg", world.w1)
    assert big.status_code == 413 and big.json["error"]["code"] == "file_too_large"
    first = upload(world, photo(size=(64, 64)), "a.jpg", world.w1)
    assert first.status_code == 201
    monkeypatch.setattr(files, "MAX_RECORD_BYTES", first.json["size"] + 100)
    full = upload(world, photo(size=(64, 64), colour=(1, 2, 3)), "b.jpg", world.w1)
    assert full.status_code == 413 and full.json["error"]["code"] == "record_full"


def test_a_file_above_the_json_body_limit_but_within_its_cap_is_taken(world):
    from shared.inputs import MAX_BODY_BYTES
    sent = photo() + b"\x00" * (MAX_BODY_BYTES + 1024 * 1024)  # 5 MiB, under 10 MiB a file
    made = upload(world, sent, "IMG_0003.jpg", world.w1)
    assert made.status_code == 201, made.json


def test_the_same_file_twice_on_a_record_is_a_conflict(world):
    sent = photo()
    assert upload(world, sent, "a.jpg", world.w1).status_code == 201
    assert upload(world, sent, "b.jpg", world.w1).status_code == 409


def test_hiding_is_a_correction_with_a_reason_and_the_bytes_stay(world):
    digest = upload(world, photo(), "a.jpg", world.w1).json["digest"]
    path = f"/records/session/{world.session}/files/{digest}"
    assert world.post(path + "/hide", {"reason": "x"}, world.w1).status_code == 422
    hidden = world.post(path + "/hide", {"reason": "拍到了无关居民"}, world.w1)
    assert hidden.status_code == 200 and hidden.json["hidden_reason"] == "拍到了无关居民"
    assert world.get(path, world.w1).status_code == 404
    listed = world.get(f"/records/session/{world.session}/files", world.w1).json
    assert listed[0]["hidden_at"] and listed[0]["url"] is None
    event = world.events("evidence.hidden")[0]
    assert event.data["digest"] == digest and "拍到" not in event.to_json()
    from services.casework.files import store
    with world.app.app_context():
        assert store().exists(digest)
    assert world.post(path + "/hide", {"reason": "再次"}, world.w1).status_code == 409


def test_files_go_on_every_kind_of_record(world):
    from tests.test_casework import RESIDENTS
    case = world.post("/cases", {"need_id": "n1"}, world.w1).json["id"]
    org = world.post("/organizations", {
        "community_id": "c1", "name": "互助队", "kind": "mutual_aid",
        "formed_on": "2026-02-01", "leader_refs": [RESIDENTS[0]],
        "member_refs": RESIDENTS[:3]}, world.w1).json["id"]
    for n, record in enumerate((f"case/{case}", f"organization/{org}")):
        sent = photo(colour=(n, n, n))
        assert upload(world, sent, "x.jpg", world.w1, record).status_code == 201, record
    assert upload(world, photo(), "x.jpg", world.w1, "volunteer/v1").status_code == 404
    assert upload(world, photo(), "x.jpg", world.w1, "decision_progress/abc").status_code == 404


READ = {  # who reads a file and its thumbnail: the record's agency, the buyer of its contract
    "w1": 200, "w2": 200, "admin": 200, "buyer": 200, "other": 404, "foreign_buyer": 404}


@pytest.mark.parametrize("reader", READ)
def test_a_file_is_read_only_in_the_records_scope(world, reader):
    digest = upload(world, photo(), "a.jpg", world.w1).json["digest"]
    token = getattr(world, reader)
    path = f"/records/session/{world.session}/files"
    for url in (path, f"{path}/{digest}", f"{path}/{digest}/thumbnail"):
        assert world.get(url, token).status_code == READ[reader], url
    expected_upload = {"w1": 201, "w2": 201, "admin": 201, "buyer": 403,
                       "foreign_buyer": 403}.get(reader, 404)
    assert upload(world, photo(colour=(9, 9, 9)), "b.jpg",
                  token).status_code == expected_upload


def test_a_link_opens_one_file_for_a_few_minutes(world, backend):
    upload(world, photo(), "a.jpg", world.w1)
    listed = world.get(f"/records/session/{world.session}/files", world.buyer).json[0]
    thumb = world.client.get(listed["thumbnail_url"])  # no bearer header: the link is enough
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert world.client.get(listed["url"]).status_code == 200
    swapped = listed["url"].replace("variant=file", "variant=thumbnail")
    assert world.client.get(swapped).status_code == 403
    token = listed["url"].split("token=")[1]
    other = "0" * 64
    assert world.client.get(f"/files/{other}?variant=file&token={token}").status_code == 403
    assert world.client.get(f"/files/{listed['digest']}?variant=file").status_code == 401
    # a link is no bearer token
    assert world.get(f"/records/session/{world.session}/files",
                     {"Authorization": f"Bearer {token}"}).status_code == 401


def test_the_sign_in_sheet_is_a_chinese_pdf_of_the_sessions_plan(world):
    sheet = world.get(f"/sessions/{world.session}/sign-in-sheet", world.w1)
    assert sheet.status_code == 200 and sheet.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(sheet.data)).pages[0].extract_text()
    for expected in ("老年人防诈骗小组", "2026-03-10", "社区活动室", "签名", "20",
                     world.session):
        assert expected in text, expected
    assert world.get(f"/sessions/{world.session}/sign-in-sheet", world.other).status_code == 404
    assert world.get(f"/sessions/{world.session}/sign-in-sheet", world.buyer).status_code == 403
    # printed, signed and photographed, the sheet goes back onto the record
    assert upload(world, sheet.data, "sheet.pdf", world.w1).status_code == 201


def test_a_request_larger_than_any_file_is_refused_before_it_is_read(world):
    from services.casework.files import MAX_FILE_BYTES
    huge = upload(world, b"\xff\xd8\xff" + b"0" * (MAX_FILE_BYTES + 2 * 1024 * 1024), "a.jpg",
                  world.w1)
    assert huge.status_code == 413 and huge.json["error"]["status"] == 413

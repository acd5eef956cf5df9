"""The thumbnails of a drill-down page's records, from casework, which alone holds the bytes
and decides who may see them: the page asks casework's API for each record's files with the
reader's own token (a buyer's token is for evaluation and casework), and casework, having
checked the buyer's contract scope, answers with five-minute links (docs/EVIDENCE.md).
Evaluation mints nothing for casework. If casework cannot be reached the page shows the
digests without pictures."""
import logging

import requests
from flask import session

from shared.config import public_url, service_url
from shared.paths import path

TIMEOUT = 3
log = logging.getLogger(__name__)


def links(records: list[dict]) -> dict[str, dict]:
    """{digest: {"thumbnail_url", "url"}} for the files of `records` the reader may see."""
    token, found = session.get("token"), {}
    wanted = {(f["record_type"], f["record_id"]) for r in records for f in r.get("files", ())}
    with requests.Session() as http:
        for record_type, record_id in sorted(wanted):
            try:
                answer = http.get(service_url("casework") + path(
                    "records", record_type, record_id, "files"), timeout=TIMEOUT,
                                  headers={"Authorization": f"Bearer {token}"})
            except requests.RequestException as exc:
                log.warning("casework's files of %s/%s: %s", record_type, record_id, exc)
                return found
            if answer.status_code != 200:
                continue
            for f in answer.json():
                if f.get("url"):
                    found[f["digest"]] = {key: public_url("casework") + f[key] if f[key] else None
                                          for key in ("url", "thumbnail_url")}
    return found

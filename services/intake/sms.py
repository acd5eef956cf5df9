"""The SMS gateway that carries residents' one-time sign-in codes. Two backends behind one
`send(phone, text)`:

- production: `INTAKE_SMS_URL` and `INTAKE_SMS_KEY`. Each message is one POST of JSON
  `{"to": phone, "text": text}` to the URL with `Authorization: Bearer <key>`; any 2xx is
  sent. An adapter for a particular carrier's API sits behind that URL.
- development (`INTAKE_SMS_BACKEND=log`, or where development keys are allowed and no URL
  is set): the message is written to the service's log instead of being sent, and the
  sign-in page says so.

Anywhere else without a URL there is no gateway: sign-in by text message is off (the page
says to ask the community for an invitation) rather than writing codes to a log that
operators read."""
import logging
import os
from concurrent.futures import ThreadPoolExecutor

import requests

from shared.config import development_keys, secret

log = logging.getLogger(__name__)
TIMEOUT = 5


class LogGateway:
    """Development: the code goes to the log, and the page tells the resident to look there."""
    development = True

    def send(self, phone: str, text: str) -> None:
        log.warning("development SMS gateway, not sent: to ***%s: %s", phone[-4:], text)


class HttpGateway:
    development = False

    def __init__(self, url: str, key: str):
        self.url, self.key = url, key

    def send(self, phone: str, text: str) -> None:
        answer = requests.post(self.url, json={"to": phone, "text": text}, timeout=TIMEOUT,
                               headers={"Authorization": f"Bearer {self.key}"})
        answer.raise_for_status()


def from_env():
    """The configured gateway, or None when sign-in by text message is off."""
    url = os.environ.get("INTAKE_SMS_URL")
    if url:
        return HttpGateway(url, secret("INTAKE_SMS_KEY", ""))
    if os.environ.get("INTAKE_SMS_BACKEND") == "log" or development_keys():
        return LogGateway()
    return None


# Sending runs beside the request, never in it: the answer to a number on the roster must
# take as long as the answer to one that is not (which sends nothing).
_outgoing = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sms")


def dispatch(gateway, phone: str, text: str):
    """Send in the background; a failure is logged (the resident asks for a new code)."""
    def send():
        try:
            gateway.send(phone, text)
        except Exception:  # noqa: BLE001 - a gateway's failure must not end the thread
            log.exception("SMS to ***%s not sent", phone[-4:])
    return _outgoing.submit(send)

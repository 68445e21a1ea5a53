"""No secret and no personal data in the logs: keys, e-mail addresses, signed links.

Everything the app logs during a busy sequence is captured at DEBUG, from the logging
handlers and from the process's own stdout and stderr (the JSON/text log handler writes
there), and searched for each secret.
"""

from __future__ import annotations

import logging
import runpy
from pathlib import Path

from tests.conftest import bearer
from tests.notice_kit import Desk

EMAIL = "private.person@example.com"


def test_keys_addresses_and_signed_tokens_stay_out_of_logs(app, client, world, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    desk = Desk(client, world, "home")
    customer = desk.customer("C1")
    contact = customer["contacts"][0]["email"]

    created = client.post(
        desk.url("/keys"), json={"role": "legal", "name": "Anna"}, headers=desk.legal
    )
    assert created.status_code == 201
    new_key = created.json["key"]
    assert client.get(desk.url("/customers"), headers=bearer(new_key)).status_code == 200
    # A wrong key is logged as a failure, never with its value.
    wrong = new_key[:-4] + "abcd"
    assert client.get(desk.url("/customers"), headers=bearer(wrong)).status_code == 401

    subscribed = client.post(desk.url("/subscriptions"), json={"email": EMAIL, "locale": "en"})
    assert subscribed.status_code == 202

    change = desk.add(desk.vendor(name="Mailer", services=["bookings"]), 31)
    notice = next(n for n in desk.customer_notices("C1") if n["change_id"] == change["id"])
    token = notice["answer_url"].rsplit("/", 1)[1]
    assert client.get(f"/orgs/home/answers/{token}").status_code == 200
    answered = client.post(f"/orgs/home/answers/{token}", data={"decision": "object"})
    assert answered.status_code < 400

    app.logger.info("capture check")
    out, err = capfd.readouterr()
    logged = "\n".join([caplog.text, out, err])
    assert "capture check" in logged, "the capture sees nothing: the test would prove nothing"
    secrets = {
        "new key": new_key,
        "new key's secret": new_key.rsplit("_", 1)[1],
        "wrong key": wrong,
        "legal key": desk.legal["Authorization"].split()[1],
        "customer key": customer["key"]["Authorization"].split()[1],
        "subscriber address": EMAIL,
        "customer contact": contact,
        "signed answer token": token,
    }
    leaked = [name for name, value in secrets.items() if value in logged]
    assert leaked == []

    # The access log (gunicorn's, the app logs no requests) takes the path: tokens go.
    conf = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
    redacted = conf["_TOKEN_SEGMENT"].sub("[redacted]", f"/orgs/home/answers/{token}")
    assert redacted == "/orgs/home/answers/[redacted]"

"""The Paybox sandbox behaves as Paybox's page does for the payment service: it refuses a bad HMAC, accepts and
refuses the test cards, signs what it sends back with its key pair, and never runs in production."""
import subprocess
import sys
import time
from datetime import date
from urllib.parse import urlencode, urlsplit

import pytest

from espace_deploy import paybox_sandbox
from espace_deploy.paybox_settings import KEYS, local_payment_env
from espace_deploy.suite import ROOT
from payment import domain
from payment.policy import load_public_key

FORM_ACCOUNT = domain.Account("1999888", "32", "107904776", local_payment_env()["PAYBOX_SECRET"])
PAYER = domain.Payer("Léa", "Martin", "3 rue de la Gare", "", "44480", "Donges")
PUBLIC_KEY = load_public_key("test", KEYS / "public.pem")


def form(amount_cents=1245, reference="AS-2026-000001.abc123", account=FORM_ACCOUNT):
    return domain.payment_form(account, amount_cents, reference, "lea@example.fr", "2026-12-02T09:00:00+00:00",
                               "http://localhost:8000/mon-compte/paiements/tx-1",
                               "http://localhost:8000/api/v1/paybox/notifications", PAYER)


@pytest.fixture
def sent():
    return []


@pytest.fixture
def client(sent):
    settings = paybox_sandbox.SandboxSettings.from_environ({})
    app = paybox_sandbox.create_app(settings, notifier=lambda url, query: sent.append((url, query)))
    return app.test_client()


def post_form(client, fields):
    """The browser's post of the form: fields in their order, URL-encoded."""
    return client.post("/cgi/MYchoix_pagepaiement.cgi", data=urlencode(fields),
                       content_type="application/x-www-form-urlencoded")


def card_page_token(client, fields):
    page = post_form(client, fields)
    assert page.status_code == 200, page.text
    assert "Paiement par carte bancaire" in page.text and "12,45 €" in page.text
    return page.text.split('name="payment" value="')[1].split('"')[0]


def wait_for(sent, count):
    deadline = time.monotonic() + 10
    while len(sent) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # one more would show now
    return sent


def pay(client, token, card, notify_count="1"):
    return client.post("/cgi/paiement", data={"payment": token, "card_number": card, "expiry": "12/30",
                                              "cvv": "123", "notify_count": notify_count, "notify_delay_s": "0",
                                              "action": "pay"})


def test_the_test_card_is_accepted_notified_signed_and_the_browser_sent_back(client, sent):
    answer = pay(client, card_page_token(client, form()), "1111 2222 3333 4444")
    assert answer.status_code == 303
    location = urlsplit(answer.headers["Location"])
    assert location.path == "/mon-compte/paiements/tx-1"
    browser = domain.verify_notification(location.query, PUBLIC_KEY)
    assert (browser.error_code, browser.amount_cents, browser.reference) == ("00000", 1245, "AS-2026-000001.abc123")
    [(url, query)] = wait_for(sent, 1)
    assert url == "http://localhost:8000/api/v1/paybox/notifications"
    notified = domain.verify_notification(query, PUBLIC_KEY)
    assert notified.status == "paid" and notified.authorization


def test_the_refused_card_answers_00151(client, sent):
    answer = pay(client, card_page_token(client, form()), "1111 2222 3333 4441")
    notified = domain.verify_notification(urlsplit(answer.headers["Location"]).query, PUBLIC_KEY)
    assert notified.error_code == "00151" and notified.status == "refused"
    assert "provision insuffisante" in notified.message


@pytest.mark.parametrize("count", [0, 3])
def test_the_notification_can_be_dropped_or_repeated(client, sent, count):
    pay(client, card_page_token(client, form()), "1111222233334444", notify_count=str(count))
    assert len(wait_for(sent, count)) == count


def test_a_bad_hmac_or_another_account_is_refused_as_paybox_does(client):
    fields = form()
    tampered = [(n, "999" if n == "PBX_TOTAL" else v) for n, v in fields]  # amount changed after signing
    assert post_form(client, tampered).status_code == 403
    other = form(account=domain.Account("1999888", "32", "107904776", "AB" * 64))
    answer = post_form(client, other)
    assert answer.status_code == 403 and "Accès refusé" in answer.text


def test_cancel_goes_back_without_notification(client, sent):
    token = card_page_token(client, form())
    answer = client.post("/cgi/paiement", data={"payment": token, "action": "cancel"})
    assert answer.status_code == 303 and wait_for(sent, 0) == []


@pytest.mark.parametrize("card, expiry, cvv, code", [
    ("1111222233334444", "01/20", "123", "00008"), ("1111222233334444", "13/30", "123", "00008"),
    ("1111", "12/30", "123", "00004"), ("1111222233334444", "12/30", "1", "00004"),
    ("4970100000000000", "12/30", "123", "00105")])
def test_other_cards(card, expiry, cvv, code):
    assert paybox_sandbox.card_outcome(card, expiry, cvv, date(2026, 12, 2)) == code


def test_the_sandbox_never_starts_in_production():
    result = subprocess.run([sys.executable, "-m", "espace_deploy.paybox_sandbox"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={"PAYBOX_ENV": "production", "PATH": "/usr/bin:/bin"})
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and "PAYBOX_ENV" in lines[0]

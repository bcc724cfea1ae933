"""Paybox's rules as plain code: the HMAC of the form, the error codes, the signature of a notification."""
import pytest

from espace_common.errors import Forbidden, InvalidInput
from payment import domain

from .paybox_fakes import OTHER_KEY, PAYBOX_KEY, notification, signed_query


def test_the_hmac_of_a_published_paybox_example():
    # The vector of a maintained Paybox integration's test suite (highcanfly-club/up2pay, test/hmac.ts):
    # message and key as published, the expected PBX_HMAC computed by that project, not by us.
    message = ("PBX_SITE=1753161&PBX_RANG=01&PBX_IDENTIFIANT=720212226&PBX_TOTAL=0000000001&PBX_DEVISE=978"
               "&PBX_CMD=test&PBX_PORTEUR=ronan@lesailesdumontblanc.cf&PBX_RETOUR=amount:M;paymentId:R;"
               "transactionId:T;authorizationId:A;cardType:P;cardNumber:N;cardExpiration:D;error:E;payboxRef:S;"
               "signature:K;&PBX_RUF1=POST&PBX_TIME=2022-12-13T14:37:08.447Z&PBX_HASH=SHA512"
               "&PBX_EFFECTUE=https://localhost:8788/up2pay/success&PBX_REFUSE=https://localhost:8788/up2pay/error"
               "&PBX_ANNULE=https://localhost:8788/up2pay/cancelled&PBX_ATTENTE=https://localhost:8788/up2pay/waiting"
               "&PBX_REPONDRE_A=https://localhost:8788/up2pay/process")
    fields = [tuple(pair.split("=", 1)) for pair in message.split("&")]
    assert domain.signed_message(fields) == message
    assert domain.hmac_of(fields, "0123456789abcdef" * 8) == (
        "6E5105BB8585E4412C68F1E9E018F4227103CB64E9F1DBB22537CA17D300DC67"
        "BA053D1DFFFA8942DCB05B3DD91258EEBB420EE5781BD75618705F24C4C94507")


def test_the_form_is_in_the_manual_s_order_with_the_hmac_last():
    account = domain.Account("1999888", "32", "107904776", "0123456789ABCDEF" * 8)
    payer = domain.Payer("Élodie", "Le Gall & fils", "3 rue de la Gare", "", "44480", "Donges")
    fields = domain.payment_form(account, 5, "AS-2026-000001.abc", "parent@example.fr", "2026-12-02T00:00:00+00:00",
                                 "http://localhost:8000/mon-compte/paiements/x", "http://localhost:8000/n", payer)
    names = [name for name, _ in fields]
    assert names[:10] == ["PBX_SITE", "PBX_RANG", "PBX_IDENTIFIANT", "PBX_TOTAL", "PBX_DEVISE", "PBX_CMD",
                          "PBX_PORTEUR", "PBX_RETOUR", "PBX_HASH", "PBX_TIME"]
    assert names[-1] == "PBX_HMAC" and {"PBX_REPONDRE_A", "PBX_BILLING", "PBX_SHOPPINGCART"} <= set(names)
    values = dict(fields)
    assert values["PBX_TOTAL"] == "005" and values["PBX_DEVISE"] == "978" and values["PBX_HASH"] == "SHA512"
    assert values["PBX_RETOUR"].endswith(";Sign:K")
    assert "<FirstName>Elodie</FirstName><LastName>Le Gall fils</LastName>" in values["PBX_BILLING"]
    assert "<CountryCode>250</CountryCode>" in values["PBX_BILLING"]
    assert values["PBX_HMAC"] == domain.hmac_of(fields[:-1], account.secret)


@pytest.mark.parametrize("code, words", [("00000", "accepté"), ("00151", "provision insuffisante"),
                                         ("00105", "ne pas honorer"), ("00004", "cryptogramme"),
                                         ("00030", "15 minutes"), ("00177", "code 77"), ("12345", "Erreur Paybox")])
def test_error_codes_read_in_french(code, words):
    assert words in domain.error_meaning(code)


def test_a_notification_signed_with_paybox_s_key_is_read():
    read = domain.verify_notification(notification("AS-1.x", 1245), PAYBOX_KEY.public_key())
    assert (read.amount_cents, read.reference, read.error_code, read.status) == (1245, "AS-1.x", "00000", "paid")


@pytest.mark.parametrize("query", [
    "Mt=1245&Ref=AS-1.x&Auto=XXXXXX&Erreur=00000&Trans=1&Appel=2",  # no signature
    notification("AS-1.x", 1245, key=OTHER_KEY),  # another key
    notification("AS-1.x", 1245).replace("Mt=1245", "Mt=1"),  # amount changed after signing
    notification("AS-1.x", 1245).replace("Ref=AS-1.x", "Ref=AS-2.x"),  # reference changed after signing
    notification("AS-1.x", 1245) + "&Extra=1",  # the signature not last
    "Mt=1&Sign=not*base64", "", "é" * 10, "x" * 5000,
])
def test_anything_not_signed_by_paybox_is_forbidden(query):
    with pytest.raises(Forbidden):
        domain.verify_notification(query, PAYBOX_KEY.public_key())


def test_a_signed_but_incomplete_notification_is_invalid():
    with pytest.raises(InvalidInput):
        domain.verify_notification(signed_query([("Mt", "abc"), ("Ref", "AS-1.x")]), PAYBOX_KEY.public_key())


def test_the_availability_page():
    assert domain.availability_url("https://tpeweb.paybox.com/cgi/MYchoix_pagepaiement.cgi") == \
        "https://tpeweb.paybox.com/load.html"
    assert domain.server_available('<html><div id="server_status">OK</div></html>')
    assert not domain.server_available(None) and not domain.server_available("<div id=\"server_status\">KO</div>")

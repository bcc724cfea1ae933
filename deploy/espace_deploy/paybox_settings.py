"""The payment service's settings for local runs and tests: Paybox's public test account, a local HMAC key, and
the sandbox (deploy/espace_deploy/paybox_sandbox.py) in place of Paybox, signing with its own test key pair."""
from pathlib import Path

KEYS = Path(__file__).resolve().parent / "paybox_sandbox_keys"
SANDBOX_PORT = 8090
LOCAL_SECRET = "0123456789ABCDEF" * 8  # local runs and tests only: the sandbox checks the HMAC with it


def local_payment_env(sandbox_port=SANDBOX_PORT, public_url="http://localhost:8000"):
    """The environment of a payment service that talks to the local sandbox."""
    return {
        "PAYBOX_SITE": "1999888", "PAYBOX_RANG": "32", "PAYBOX_IDENTIFIANT": "107904776",
        "PAYBOX_SECRET": LOCAL_SECRET, "PAYBOX_ENV": "sandbox",
        "PAYBOX_PUBLIC_KEY_FILE": str(KEYS / "public.pem"),
        "PAYBOX_SANDBOX_URL": f"http://127.0.0.1:{sandbox_port}/cgi/MYchoix_pagepaiement.cgi",
        "PUBLIC_URL": public_url,
    }

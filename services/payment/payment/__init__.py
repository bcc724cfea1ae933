"""The payment service: Paybox card transactions and their notifications."""

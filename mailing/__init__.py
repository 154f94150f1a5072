"""How Paperboy talks to email providers, for every task that sends mail.

A plain package, not a Django app: it imports no app and not the project package, so every app may
use it. `outbox` is the embedded default's backend and `backends/` adds to anymail's.
"""

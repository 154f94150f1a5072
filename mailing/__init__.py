"""How Paperboy talks to email providers, for every task that sends mail.

A plain package, not a Django app: it imports no app and not the project package, so every app may
use it. `outbox` is the embedded default's backend, `backends/` adds to anymail's, `outcomes` says
what a provider's answer (or failure) means for a message, and so what every sender does next, and
`ratelimit` keeps all workers together within a provider's per-second limits.
"""

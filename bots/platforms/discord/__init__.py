"""Discord: the interactions endpoint (`views`), the platform that answers and posts (`platform`), and their parts.

`messages` renders a `Reply` as a Discord message, `api` is the REST API client, `commands` turns the grammar
into slash-command definitions and typed options back, `autocomplete` suggests values while someone types.
"""

"""Slack: the endpoints Slack calls (`views`), the platform that answers and posts (`platform`), and their parts.

`blocks` renders a `Reply` as Block Kit, `api` calls the Web API and response URLs, `tasks` holds what the
views queue, `install` the OAuth v2 install and its tokens, `identity` the optional link by email, `modal`
the deploy form.
"""

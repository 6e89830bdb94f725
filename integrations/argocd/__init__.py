"""Deploys through an Argo CD application: `client` speaks Argo CD's REST API, `provider` follows the sync."""

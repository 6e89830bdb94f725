"""Deploys through a Jenkins job: `client` speaks Jenkins' remote API, `provider` follows the run."""

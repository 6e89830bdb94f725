"""The REST API (`/api/v1/`): DRF views over the same domain functions and RBAC as chat and the dashboard."""

"""The phases of a release: provision, wait_healthy, route, retire. Effectful, idempotent,
resumable: each one first looks at what already exists in AWS."""

"""Promotion and rollback jobs in Jenkins: provisioned from the configuration (sync-jobs) and
started from the command line (trigger), through python-jenkins."""

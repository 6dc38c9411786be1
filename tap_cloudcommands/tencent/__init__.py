"""Tencent Cloud: the connector (TAT and CloudAudit clients), its scans and its streams."""

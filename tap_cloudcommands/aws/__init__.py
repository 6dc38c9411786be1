"""AWS: the connector (sessions, accounts, regions, SSM and CloudTrail pages) and its streams."""

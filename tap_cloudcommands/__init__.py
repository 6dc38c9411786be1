"""Singer tap for AWS SSM Run Command and Tencent Cloud TAT command history."""

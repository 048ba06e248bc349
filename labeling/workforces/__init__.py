"""Workforces: teams, invitations, the crowd marketplace, qualification, earnings, vendors."""

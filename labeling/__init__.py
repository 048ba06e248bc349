"""The labeling domain: workforces, jobs, items, leases, answers and consolidated labels."""

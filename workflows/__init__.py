"""Around human work: job chaining and human review loops (see docs/)."""

"""The pure math of label quality: agreement, adaptive overlap, simulated crowds."""

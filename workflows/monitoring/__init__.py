"""Model-quality monitoring of review flows: estimates from the random audit, drift alerts."""

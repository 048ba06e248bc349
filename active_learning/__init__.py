"""Models and the loop that saves human labels: training, thresholds, auto-labeling."""

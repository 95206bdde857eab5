"""Scoring metrics, the tutorial-style report and plots of a trained model."""

"""Helpers shared by the predictor tests."""

TEXTS = ["i feel happy today", "so sad", "", "the cat is blue and really very awful now", "🙂 weird ünïcode"]

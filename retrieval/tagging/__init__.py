"""Zero-shot tagging with labels users invent: prompt ensembles, calibration, the
vocabulary, concepts, evaluation."""

__all__ = ["calibration", "concepts", "evaluation", "prompts", "scoring", "vocabulary"]

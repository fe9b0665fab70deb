# Feedback (PAKN) tables arrive with the feedback capability.

"""Scores and what they are worth: UA, WA, ACC and macro-F1 (`metrics`), intervals and paired tests (`stats`), and
the final model scored on other corpora (`cross_corpus`)."""

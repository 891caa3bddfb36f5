"""The artefact audit: how much a countermeasure's decisions rest on the non-speech around the speech.

``trim`` finds the speech of a file (energy VAD or annotations), ``transplant`` puts the
start of a file of the other class in front of a file, ``edits`` reads corpus files with
those edits applied, and ``report`` turns the scores into metrics and a verdict.
"""

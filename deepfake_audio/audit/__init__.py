"""The artefact audit: how much a countermeasure's decisions rest on the non-speech around the speech.

``speech`` (a package module) finds the speech of a file, ``annotations`` reads given spans,
``transplant`` puts the start of a file of the other class in front of a file, ``edits`` reads
corpus files with those edits applied, ``edited`` extracts their features (stage
``audit_audio``), ``scores`` scores them with one model and retrains it on trimmed audio
(``audit@<model>``), and ``verdicts`` and ``run`` turn the scores into metrics, figures and a
verdict (``audit_report``).
"""

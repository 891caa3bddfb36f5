"""Detect replayed and synthesised speech."""

import os

# Before anything imports TensorFlow: keep its start-up chatter out of the stage logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

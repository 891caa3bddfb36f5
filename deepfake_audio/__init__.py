"""Detect replayed and synthesised speech."""

import os

# Set before anything imports TensorFlow: keep its start-up chatter quiet, and use the
# reference CPU kernels, whose results do not depend on the machine's oneDNN code path.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

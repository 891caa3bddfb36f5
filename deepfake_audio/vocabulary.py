"""The words every module shares: class labels, splits, model names and rounding.

One definition each, so that a label, a model or a precision is spelled the same in the
manifest, the score files, the metrics, the plots and the command line.
"""

BONAFIDE = "bonafide"
SPOOF = "spoof"
LABELS = (BONAFIDE, SPOOF)  # the manifest's, score files' and metrics' labels, bona fide first
GENUINE = "genuine"  # ASVspoof 2017's protocol word for bona fide: read at the protocol, never written

SPLITS = ("train", "dev", "eval")

SCORE_COLUMNS = ("utt_id", "split", "label", "score")  # a score file's, data/scores/<model>.csv

SINGLE_MODELS = ("svc", "cnn", "gmm")  # trained on features; the fusion combines their scores in this order
FUSION = "fusion"
MODEL_NAMES = (*SINGLE_MODELS, FUSION)

# Rounding of what is written (score files, metrics, plot data), in decimals.
SCORE_DECIMALS = (
    6  # scores and thresholds (score units): scores are written, and thresholds chosen, at this precision
)
PERCENT_DECIMALS = 4  # EERs and other rates in percent, and changes of them in percentage points
FRACTION_DECIMALS = 6  # ROC AUC, accuracy, precision, recall, F1, min DCF, and other plot data

"""Why a model decides as it does: global and local explanations of the SVC and the CNN.

``cases`` picks the utterances worth a close look, ``svc`` explains the feature-based
model (permutation importance, SHAP, LIME), ``gradcam`` the spectrogram-based one, and
``figures`` draws them.
"""

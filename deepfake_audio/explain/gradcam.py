"""Grad-CAM (Selvaraju et al., 2017) for the CNN: where in time and frequency its evidence lies.

The last convolutional feature maps are weighted by the mean gradient of the decision
towards a class, summed over channels, rectified and stretched back onto the input
spectrogram, so each map reads in the input's own frames and frequency rows. The map of
an input shorter than the stored width (``pad: none``) covers the frames the network
read and is zero after them.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from deepfake_audio.errors import InputError
from deepfake_audio.metrics import rounded
from deepfake_audio.models.cnn import ensemble_members, same_length_groups
from deepfake_audio.params import GradcamParams
from deepfake_audio.progress import Progress
from deepfake_audio.vocabulary import BONAFIDE


def last_conv_layer(model: keras.Model) -> keras.layers.Layer:
    """The output of the last convolutional block before it is pooled.

    That is the last ``Conv2D`` followed by the layers that keep its shape (batch norm,
    activation, or the maximum of Max-Feature-Map's two halves).
    """
    layers = model.layers
    convs = [i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.Conv2D)]
    if not convs:
        raise InputError(f"the CNN model {model.name!r} has no Conv2D layer to explain with Grad-CAM")
    chosen = layers[convs[-1]]
    for layer in layers[convs[-1] + 1 :]:
        if tuple(layer.output.shape) != tuple(chosen.output.shape):
            break
        chosen = layer
    return chosen


@dataclass(frozen=True)
class Profile:
    """A class's mean Grad-CAM mass per frequency row and per frame (each sums to 1, or 0 with no maps)."""

    frequency: np.ndarray
    time: np.ndarray
    n_maps: int  # maps averaged; maps with no positive evidence at all are left out


class GradCam:
    """Grad-CAM maps of one model, computed in batches.

    For a seed ensemble, the map is the mean of its networks' maps, as its logit is the
    mean of theirs.
    """

    def __init__(self, model: keras.Model, batch_size: int = 64):
        self.model = model
        self.member_maps = [
            _traced_maps(keras.Model(member.inputs, [last_conv_layer(member).output, member.outputs[0]]))
            for member in ensemble_members(model)
        ]
        self.batch_size = batch_size

    def maps(self, spectrograms: np.ndarray, rows, towards_bonafide) -> np.ndarray:
        """(rows, bins, frames) float32 maps for the given rows of ``spectrograms``.

        ``towards_bonafide`` (one flag, or one per row) chooses the class explained: the bona fide
        logit, or its negation (the evidence for spoof). Inference mode, so a map depends on
        its row only.
        """
        rows = np.asarray(rows)
        towards = np.broadcast_to(np.asarray(towards_bonafide, dtype=bool), rows.shape)
        maps = np.zeros((len(rows), *spectrograms.shape[1:]), dtype=np.float32)
        for start in range(0, len(rows), self.batch_size):
            block = np.asarray(spectrograms[rows[start : start + self.batch_size]], dtype=np.float32)
            for at, inputs in same_length_groups(self.model, block):
                sign = np.where(towards[start + at], 1.0, -1.0).astype(np.float32)
                mean_map = np.mean(
                    [member_maps(inputs, sign).numpy() for member_maps in self.member_maps], axis=0
                )
                maps[start + at, :, : inputs.shape[2]] = mean_map
        return maps

    def class_profiles(self, spectrograms: np.ndarray, rows, labels) -> dict[str, Profile]:
        """Each label's mean map towards that label, reduced to frequency and time profiles.

        Each map is scaled to unit mass first, so every utterance counts the same; maps with
        no positive evidence at all are left out. Memory stays at one batch of maps.
        """
        rows, labels = np.asarray(rows), np.asarray(labels)
        profiles = {}
        with Progress(len(rows), "explain cnn: Grad-CAM") as progress:
            for label in sorted(set(labels)):
                of_label = rows[labels == label]
                frequency, time, kept = np.zeros(spectrograms.shape[1]), np.zeros(spectrograms.shape[2]), 0
                for start in range(0, len(of_label), self.batch_size):
                    batch = of_label[start : start + self.batch_size]
                    maps = self.maps(spectrograms, batch, label == BONAFIDE)
                    mass = maps.sum(axis=(1, 2), dtype=np.float64)
                    unit = maps[mass > 0] / mass[mass > 0, None, None]
                    frequency += unit.sum(axis=2, dtype=np.float64).sum(axis=0)
                    time += unit.sum(axis=1, dtype=np.float64).sum(axis=0)
                    kept += len(unit)
                    progress.update(len(batch))
                profiles[label] = Profile(frequency / max(kept, 1), time / max(kept, 1), kept)
        return profiles


def _traced_maps(probe: keras.Model):
    """``maps(x, sign)``: the Grad-CAM maps of the (n, bins, frames) inputs ``x``, towards
    the bona fide logit times ``sign`` (n), at the inputs' size; one graph for any n and
    length (run eagerly, op by op, it is several times slower)."""
    bins = probe.inputs[0].shape[1]

    @tf.function(input_signature=[tf.TensorSpec((None, bins, None)), tf.TensorSpec((None,))])
    def maps(x, sign):
        with tf.GradientTape() as tape:
            features, logits = probe(x, training=False)
            target = tf.reduce_sum(logits[:, 0] * sign)
        weights = tf.reduce_mean(tape.gradient(target, features), axis=(1, 2))
        cam = tf.nn.relu(tf.einsum("nhwc,nc->nhw", features, weights))
        return tf.image.resize(cam[..., None], tf.shape(x)[1:], method="bilinear")[..., 0]

    return maps


def mass_fractions(
    profile: Profile, frequencies: np.ndarray, times: np.ndarray, *, params: GradcamParams
) -> dict[str, float]:
    """Share of the profile's mass in the first ``params.first_ms`` and above ``params.above_hz``, to 4 places."""
    return {
        f"first_{params.first_ms:g}ms": rounded(profile.time[times < params.first_ms / 1000].sum(), 4),
        f"above_{params.above_hz:g}hz": rounded(profile.frequency[frequencies > params.above_hz].sum(), 4),
    }


def uniform_profile(n_bins: int, n_frames: int) -> Profile:
    """The profile of a map spread evenly: the reference the class profiles are read against."""
    return Profile(np.full(n_bins, 1 / n_bins), np.full(n_frames, 1 / n_frames), 0)

"""DVC stage `prepare`: check the corpus against its protocol, write the manifest and counts."""

from deepfake_audio import paths
from deepfake_audio.corpus.manifest import manifest_from_asvspoof2017, summarize
from deepfake_audio.errors import run_stage
from deepfake_audio.io import write_csv, write_json
from deepfake_audio.params import load_params


def main() -> None:
    params = load_params()
    manifest = manifest_from_asvspoof2017(params.data.corpus_dir)
    write_csv(paths.MANIFEST, manifest)
    write_json(paths.DATA_METRICS, summarize(manifest))


if __name__ == "__main__":
    run_stage(main)

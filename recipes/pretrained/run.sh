#!/usr/bin/env bash
# The shipped models: each trained by its own recipe exactly as that recipe documents it (one
# training thread, the CPU configuration), then exported, carded and entered in the manifest
# (vcgan/pretrained/: weights, NAME.md + NAME.json cards, manifest.json with SHA-256 and the
# output on a fixture that tests/test_pretrained.py compares).
#
# Stages: 1 train + evaluate (the recipes' own stages) -> 2 build the shipped files ->
#         3 score the shipped voice-conversion models as shipped (float16, `--model NAME`) on the test
#           sentences of another corpus (default: recipes/heldout/corpus/test2, built by
#           `python recipes/heldout/make_corpus.py --which test2`), beside the statistics transform
#
#   ./run.sh                                      # every model (about 4 hours of one core; two run at once)
#   ./run.sh --models "stargan-vc2-kal-ked-slt"   # only these
#   ./run.sh --stage 2                            # rebuild the shipped files from finished runs
#   ./run.sh --stage 3 --models "stargan-vc2-kal-ked-slt cyclegan-vc2-kal-slt"
set -euo pipefail
{
. "$(cd "$(dirname "$0")" && pwd)/../common/recipe.sh"

stage=1
stop_stage=3
heldout=heldout/corpus/test2   # stage 3: <corpus>/<speaker>/test/*.wav, the same names for every speaker
models="stargan-vc2-kal-ked-slt cyclegan-vc2-kal-slt postfilter-mcep-kal postfilter-stft-kal cyclegan-sneaker-boot stargan-fashion-tops pix2pix-edges-fashion glcic-fashion-mnist"
parse_options "$0" "$@"
cd "$(dirname "$0")/.."   # recipes/

# name -> "recipe folder|run.sh options|experiment folder|held-out score files (Markdown)|config overrides"
# stage 3: the voice-conversion models' training features (for the statistics transform) and directions
declare -A vc_feats=(
  [stargan-vc2-kal-ked-slt]="stargan_vc2/dump/feats_kal_ked_slt_cpu|kal:ked kal:slt ked:kal ked:slt slt:kal slt:ked"
  [cyclegan-vc2-kal-slt]="cyclegan_vc2/dump/feats_kal_slt_cpu|kal:slt slt:kal"
)
declare -A run=(
  # twice conf/cpu.yaml's steps (the conversions between the two male voices improve to the end of a
  # run) and half its anchor weight (which holds c1-c4 near the statistics transform's, a pull the
  # female voice's conversions need more than the male pairs'): chosen on the development corpus
  [stargan-vc2-kal-ked-slt]="stargan_vc2|--tag ship16k_anc05_kal_ked_slt|exp/ship16k_anc05_kal_ked_slt|eval/comparison.md|train.steps=16000 train.lr_decay_start=8000 train.max_minutes=200 loss.anchor_weight=0.5"
  [cyclegan-vc2-kal-slt]="cyclegan_vc2|--tag ship|exp/ship|eval/comparison.md"
  [postfilter-mcep-kal]="gan_postfilter|--tag ship_mcep --jobs 1 --threads 1|exp/ship_mcep|eval/test/postfilter.md"
  [postfilter-stft-kal]="gan_postfilter|--kind stft --tag ship_stft --jobs 1 --threads 1|exp/ship_stft|eval/test/postfilter.md"
  [cyclegan-sneaker-boot]="image_cyclegan|--tag ship|exp/ship|eval/scores.md"
  [stargan-fashion-tops]="image_stargan|--tag ship|exp/ship|eval/scores.md"
  [pix2pix-edges-fashion]="pix2pix|--tag ship|exp/ship|eval/scores.md"
  [glcic-fashion-mnist]="glcic|--data fashion_mnist|exp/glcic_fashion_mnist|eval_test/scores.md"
)

for name in $models; do
  [ -n "${run[$name]+x}" ] || { echo "run.sh: no shipped model named $name (${!run[*]})" >&2; exit 2; }
  IFS='|' read -r recipe opts exp scores overrides <<< "${run[$name]}"
  if stage_on 1; then
    echo "== $name: recipes/$recipe/run.sh $opts -- train.num_threads=1 $overrides"
    # shellcheck disable=SC2086
    "$recipe/run.sh" $opts -- train.num_threads=1 $overrides
  fi
  if stage_on 2; then
    echo "== $name: export, card, manifest"
    files=()
    for f in $scores; do files+=("$recipe/$exp/$f"); done
    python -m vcgan.pretrained.build --name "$name" --checkpoint "$recipe/$exp/train/checkpoints/latest.pt" \
      --spec pretrained/specs/$name.json --scores "${files[@]}"
  fi
  if stage_on 3 && [ -n "${vc_feats[$name]+x}" ]; then
    IFS='|' read -r feats directions <<< "${vc_feats[$name]}"
    out=pretrained/exp/$name/$(basename "$heldout")
    echo "== $name: scored as shipped on $heldout -> $out"
    [ -d "$heldout" ] || { echo "run.sh: $heldout not found (python recipes/heldout/make_corpus.py --which $(basename "$heldout"))" >&2; exit 1; }
    for d in $directions; do
      s=${d%%:*} t=${d##*:}
      # each test file analysed once for both systems and every target
      vcgan convert --model "$name" --source "$s" --target "$t" --cache pretrained/dump/conversion_analyses \
        "$heldout/$s/test" -o "$out/converted/shipped/${s}_to_$t"
      vcgan convert --feats "$feats" --source "$s" --target "$t" --cache pretrained/dump/conversion_analyses \
        "$heldout/$s/test" -o "$out/converted/statistics_transform/${s}_to_$t"
    done
    for sys in shipped statistics_transform; do
      vcgan evaluate --cache pretrained/dump/metric_analyses "$heldout" "$out/converted/$sys" -o "$out/eval/$sys" \
        --title "$sys"
    done
    vcgan evaluate-compare "$out/eval/shipped.json" "$out/eval/statistics_transform.json" \
      --baseline statistics_transform -o "$out/eval/comparison" --title "$name on $(basename "$heldout"): MCD [dB]"
  fi
done
exit
}

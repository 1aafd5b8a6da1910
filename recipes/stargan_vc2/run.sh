#!/usr/bin/env bash
# StarGAN-VC2 recipe: one model converts every speaker into every other one.
#
# Stages: 0 data -> 1 features -> 2 train -> 3 convert all directions -> 4 evaluate
#
#   ./run.sh                                          # bundled demo corpus: kal, ked, slt (6 directions)
#   ./run.sh --corpus /data/vcc2018 --speakers "VCC2SF1 VCC2SF2 VCC2SM1 VCC2SM2" --conf conf/vcc2018.yaml
#   ./run.sh --corpus /data/mywavs --speakers "a b c" --test-root /data/test   # /data/test/<spk>/*.wav
#   ./run.sh --conf conf/stargan_vc.yaml                 # StarGAN-VC (v1) instead
#   ./run.sh --calibrate false                           # skip the calibrated conversions (model_calibrated, model_anchored)
#   ./run.sh --anchor 1-4=0.5                            # also model_anchored: calibrated, c1-c4 averaged with the statistics
#                                                        # transform's (for models trained without loss.anchor_weight)
#   ./run.sh --shift-average 1                           # convert with one alignment to the generator's time stride (default: all 4)
set -euo pipefail
{   # the whole script is read before it runs, so editing it cannot change a run in progress
. "$(cd "$(dirname "$0")" && pwd)/../common/recipe.sh"   # helpers shared by the recipes

stage=0
stop_stage=4
conf=conf/cpu.yaml
corpus=../demo/corpus
layout=auto
speakers="kal ked slt"
tag=""
test_root=""     # <test_root>/<speaker>/ holds each speaker's test files (same names across speakers)
jobs=""
calibrate=true   # also convert with the output re-standardised per direction (as vcgan convert does by default)
anchor=none      # or DIMS=W: also calibrated with those dims averaged with the statistics transform's (vcgan convert --anchor)
shift_average=4  # model conversions averaged over the input delayed by 0..3 frames (vcgan convert --shift-average)

parse_options "$0" "$@"
require_bool "$0" calibrate
# checked here, not first in stage 3 after the training
[[ "$anchor" =~ ^(none|[0-9]+(-[0-9]+)?=[0-9.]+(,[0-9]+(-[0-9]+)?=[0-9.]+)*)$ ]] || {
  echo "$(basename "$0"): --anchor must be none or DIM[-DIM]=WEIGHT[,...], got '$anchor'" >&2; exit 2; }
[ "$calibrate" = true ] || anchor=none   # anchoring is a kind of calibrated conversion
[[ "$shift_average" =~ ^[1-9][0-9]*$ ]] || {
  echo "$(basename "$0"): --shift-average must be a whole number of frames >= 1, got '$shift_average'" >&2; exit 2; }

test_root=$(abspath "$test_root")
enter_recipe "$0"
read -r -a spk <<< "$speakers"
name=$(basename "${conf%.yaml}")
tag=${tag:-${name}_$(echo "$speakers" | tr ' ' '_')}
feats=dump/feats_$(echo "$speakers" | tr ' ' '_')_${name}$(corpus_suffix "$corpus")
expdir=exp/${tag}
sample_rate=$(conf_sample_rate "$conf")  # score at the model's rate
jobs_arg=()
[ -n "$jobs" ] && jobs_arg=(--jobs "$jobs")
speakers_yaml="[$(printf '"%s", ' "${spk[@]}" | sed 's/, $//')]"

[ "$layout" = auto ] && layout=$(detect_layout "$corpus" "${spk[0]}")
[ -z "$test_root" ] || [ -d "$test_root" ] || { echo "$(basename "$0"): test folder $test_root not found" >&2; exit 1; }
# test_dir SPEAKER ROLE: where a speaker's test files are (ROLE: source or reference)
test_dir() {
  if [ -n "$test_root" ]; then echo "$test_root/$1"; else default_test_dir "$layout" "$corpus" "$1" "$2"; fi
}

if stage_on 0; then
  echo "== stage 0: data ($layout layout, $corpus, speakers: $speakers)"
  stage_data "$corpus"
fi

if stage_on 1; then
  echo "== stage 1: features -> $feats"
  vcgan prepare --corpus "$corpus" --layout "$layout" --speakers "${spk[@]}" --config "$conf" --out "$feats" "${jobs_arg[@]}"
fi

if stage_on 2; then
  echo "== stage 2: train -> $expdir/train"
  vcgan train --config "$conf" data.feats_dir="$feats" "data.speakers=$speakers_yaml" out_dir="$expdir/train" "${train_args[@]}"
fi

if stage_on 3; then
  echo "== stage 3: convert all $(( ${#spk[@]} * (${#spk[@]} - 1) )) directions"
  for s in "${spk[@]}"; do
    src_dir=$(test_dir "$s" source)
    if ! { [ -n "$src_dir" ] && [ -d "$src_dir" ]; }; then echo "   $s: no test files to convert (--test-root); skipped"; continue; fi
    others=()
    for t in "${spk[@]}"; do [ "$s" != "$t" ] && others+=("$t"); done
    targets=$(IFS=,; echo "${others[*]}")   # one call per source: each test file is analysed once
    sub=""   # several targets: convert writes OUT/<source>_to_<target>/; one: OUT is that folder
    [ "${#others[@]}" -eq 1 ] && sub=/${s}_to_${targets}
    convert=(vcgan convert --source "$s" --target "$targets" --cache dump/conversion_analyses)   # each input analysed once
    model=(--checkpoint "$expdir/train/checkpoints/latest.pt" --shift-average "$shift_average")
    "${convert[@]}" "${model[@]}" --no-calibrate "$src_dir" -o "$expdir/converted/model$sub"
    # calibrated: with 4 shifts as vcgan convert applies it by default (stored at the end of training),
    # with another shift count measured again on the training features
    cal=(); [ "$shift_average" = 4 ] || cal=(--calibrate "$feats")
    [ "$calibrate" = true ] && "${convert[@]}" "${model[@]}" "${cal[@]}" \
      "$src_dir" -o "$expdir/converted/model_calibrated$sub"
    [ "$anchor" != none ] && "${convert[@]}" "${model[@]}" \
      --calibrate "$feats" --anchor "$anchor" "$src_dir" -o "$expdir/converted/model_anchored$sub"
    "${convert[@]}" --feats "$feats" "$src_dir" -o "$expdir/converted/statistics_transform$sub"
    mkdir -p "$expdir/converted/no_conversion"
    for t in "${others[@]}"; do ln -sfn "$(cd "$src_dir" && pwd)" "$expdir/converted/no_conversion/${s}_to_${t}"; done
  done
fi

missing_refs=()   # every speaker is a source and a reference: all need test files to score every direction
for t in "${spk[@]}"; do r=$(test_dir "$t" reference); [ -n "$r" ] && [ -d "$r" ] || missing_refs+=("$t"); done
if stage_on 4 && [ "${#missing_refs[@]}" -gt 0 ]; then
  echo "== stage 4: scoring skipped: no parallel reference recordings of ${missing_refs[*]} (--test-root);" \
       "the converted files (if any) are in $expdir/converted"
elif stage_on 4; then
  echo "== stage 4: evaluate every direction"
  refs=$expdir/references
  mkdir -p "$refs"
  for t in "${spk[@]}"; do ln -sfn "$(cd "$(test_dir "$t" reference)" && pwd)" "$refs/$t"; done
  systems=(no_conversion statistics_transform model)
  [ "$calibrate" = true ] && systems+=(model_calibrated)
  [ "$anchor" != none ] && systems+=(model_anchored)
  for sys in "${systems[@]}"; do
    vcgan evaluate --sample-rate "$sample_rate" --cache dump/metric_analyses "$refs" "$expdir/converted/$sys" -o "$expdir/eval/$sys" --title "$sys"
  done
  reports=(); tables=()
  for sys in "${systems[@]}"; do reports+=("$expdir/eval/$sys.json"); tables+=("$expdir/eval/$sys.md"); done
  vcgan evaluate-compare "${reports[@]}" --baseline statistics_transform -o "$expdir/eval/comparison" --title "MCD [dB] per direction"
  cat "$expdir/eval/comparison.md" "${tables[@]}" > "$expdir/eval/summary.md"
  echo "summary: $expdir/eval/summary.md"
fi
exit
}

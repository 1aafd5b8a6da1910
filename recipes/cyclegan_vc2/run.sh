#!/usr/bin/env bash
# CycleGAN-VC2 recipe: non-parallel conversion of speaker SRC into speaker TGT.
#
# Stages: 0 data -> 1 features -> 2 train -> 3 convert -> 4 evaluate
#
#   ./run.sh                                   # bundled demo corpus, kal -> slt
#   ./run.sh --corpus /data/vcc2018 --src VCC2SF3 --tgt VCC2TM1 --conf conf/vcc2018.yaml
#   ./run.sh --corpus /data/mywavs --src alice --tgt bob \
#            --test-src-dir /data/test/alice --test-ref-dir /data/test/bob
#   ./run.sh --stage 3 --stop-stage 4          # re-run conversion and evaluation only
#   ./run.sh --calibrate false                 # skip the calibrated conversion (model_calibrated)
set -euo pipefail
{   # the whole script is read before it runs, so editing it cannot change a run in progress
. "$(cd "$(dirname "$0")" && pwd)/../common/recipe.sh"   # helpers shared by the recipes

stage=0
stop_stage=4
conf=conf/cpu.yaml
corpus=../demo/corpus
layout=auto          # auto | split | vcc2018 | generic
src=kal
tgt=slt
tag=""
test_src_dir=""      # generic layout: source-speaker test files
test_ref_dir=""      # generic layout: target-speaker references with the same file names
jobs=""
calibrate=true       # also convert with the output re-standardised on the training features (as vcgan convert does by default)
train_args=()        # extra key=value overrides after --

parse_options "$0" "$@"
require_bool "$0" calibrate

test_src_dir=$(abspath "$test_src_dir"); test_ref_dir=$(abspath "$test_ref_dir")
enter_recipe "$0"
tag=${tag:-$(basename "${conf%.yaml}")_${src}_${tgt}}
model_title=$(sed -n 's/^task: *//p' "$conf" | head -1)
feats=dump/feats_${src}_${tgt}_$(basename "${conf%.yaml}")$(corpus_suffix "$corpus")
expdir=exp/${tag}
sample_rate=$(conf_sample_rate "$conf")  # score at the model's rate
jobs_arg=()
[ -n "$jobs" ] && jobs_arg=(--jobs "$jobs")

[ "$layout" = auto ] && layout=$(detect_layout "$corpus" "$src")
for d in "$test_src_dir" "$test_ref_dir"; do   # a folder named but missing is a mistake, not "none"
  [ -z "$d" ] || [ -d "$d" ] || { echo "$(basename "$0"): test folder $d not found" >&2; exit 1; }
done
test_src_dir=${test_src_dir:-$(default_test_dir "$layout" "$corpus" "$src" source)}
test_ref_dir=${test_ref_dir:-$(default_test_dir "$layout" "$corpus" "$tgt" reference)}

if stage_on 0; then
  echo "== stage 0: data ($layout layout, $corpus)"
  stage_data "$corpus"
fi

if stage_on 1; then
  echo "== stage 1: features -> $feats"
  vcgan prepare --corpus "$corpus" --layout "$layout" --speakers "$src" "$tgt" --config "$conf" --out "$feats" "${jobs_arg[@]}"
fi

if stage_on 2; then
  echo "== stage 2: train -> $expdir/train"
  vcgan train --config "$conf" data.feats_dir="$feats" data.source="$src" data.target="$tgt" \
    out_dir="$expdir/train" "${train_args[@]}"
fi

if stage_on 3 && ! [ -d "$test_src_dir" ]; then
  echo "== stage 3: skipped: no source test files to convert (--test-src-dir); convert your own with" \
       "vcgan convert --checkpoint $expdir/train/checkpoints/latest.pt --source $src --target $tgt IN -o OUT"
elif stage_on 3; then
  echo "== stage 3: convert $test_src_dir"
  convert=(vcgan convert --source "$src" --target "$tgt" --cache dump/conversion_analyses)   # each input analysed once
  "${convert[@]}" --checkpoint "$expdir/train/checkpoints/latest.pt" --no-calibrate "$test_src_dir" -o "$expdir/converted/model"
  # calibrated: as vcgan convert applies it by default (the calibration stored at the end of training)
  [ "$calibrate" = true ] && "${convert[@]}" --checkpoint "$expdir/train/checkpoints/latest.pt" \
    "$test_src_dir" -o "$expdir/converted/model_calibrated"
  # the statistics transform: the reference every model has to beat
  "${convert[@]}" --feats "$feats" "$test_src_dir" -o "$expdir/converted/statistics_transform"
fi

if stage_on 4 && ! { [ -d "$test_ref_dir" ] && [ -d "$test_src_dir" ] && [ -d "$expdir/converted/model" ]; }; then
  echo "== stage 4: scoring skipped: no parallel reference recordings of $tgt (--test-ref-dir) or no converted" \
       "test files; the converted files (if any) are in $expdir/converted"
elif stage_on 4; then
  echo "== stage 4: evaluate against $test_ref_dir"
  evaluate=(vcgan evaluate --sample-rate "$sample_rate" --cache dump/metric_analyses   # one analysis cache for all systems
            --direction "${src}_to_${tgt}")
  "${evaluate[@]}" "$test_ref_dir" "$test_src_dir" -o "$expdir/eval/no_conversion" --title "no conversion"
  "${evaluate[@]}" "$test_ref_dir" "$expdir/converted/statistics_transform" -o "$expdir/eval/statistics_transform" --title "statistics transform"
  "${evaluate[@]}" "$test_ref_dir" "$expdir/converted/model" -o "$expdir/eval/model" --title "${model_title:-model}"
  systems=(no_conversion statistics_transform model)
  if [ "$calibrate" = true ]; then
    "${evaluate[@]}" "$test_ref_dir" "$expdir/converted/model_calibrated" -o "$expdir/eval/model_calibrated" \
      --title "${model_title:-model}, calibrated"
    systems+=(model_calibrated)
  fi
  reports=(); tables=()
  for sys in "${systems[@]}"; do reports+=("$expdir/eval/$sys.json"); tables+=("$expdir/eval/$sys.md"); done
  vcgan evaluate-compare "${reports[@]}" --baseline statistics_transform -o "$expdir/eval/comparison" --title "MCD [dB]"
  cat "$expdir/eval/comparison.md" "${tables[@]}" > "$expdir/eval/summary.md"
  echo "summary: $expdir/eval/summary.md"
fi
exit
}

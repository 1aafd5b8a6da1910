#!/usr/bin/env bash
# WaveCycleGAN / WaveCycleGAN2 recipe: an unpaired waveform postfilter from synthetic to
# natural speech, judged beside the synthetic input, GV scaling and (optionally) the paired
# mel-cepstrum GAN postfilter on the same test sentences.
#
# Stages: 0 data: the GAN-postfilter recipe's pair corpus (festival kal_diphone speech, an MSE
#         acoustic model's out-of-fold output), split into unpaired halves (local/make_unpaired.py)
#         -> 1 features of the natural training speech (the GV-scaling baseline) -> 2 train
#         -> 3 postfilter the test sentences (+ GV scaling) -> 4 evaluate (MCD, GV, MS, LSD, F0
#         against the input, plots; image components on a tone sweep)
#
#   ./run.sh                                 # WaveCycleGAN2, TTS case, built offline from nothing
#   ./run.sh --version 1                     # WaveCycleGAN
#   ./run.sh --case vocoder                  # synthetic = WORLD analysis-synthesis of natural speech
#   ./run.sh --pairs /data/mytts             # your own ROOT/{synthetic,natural}/train/*.wav (unpaired),
#                                            #   ROOT/{synthetic,natural}/test/*.wav (paired, for scoring)
#   ./run.sh --gan-pf ../gan_postfilter/exp/kal_diphone_mcep_cpu/train/checkpoints/latest.pt   # beside it
#   ./run.sh --stage 2 -- train.max_minutes=60  # train again, config overrides after --
#   ./run.sh --stage 3 --eval-set dev        # judge on the development sentences (tune there, report test)
set -euo pipefail
{   # the whole script is read before it runs, so editing it cannot change a run in progress
. "$(cd "$(dirname "$0")" && pwd)/../common/recipe.sh"

stage=0
stop_stage=4
version=2          # 1: WaveCycleGAN | 2: WaveCycleGAN2
case=tts           # tts | vocoder (stage 0 only)
conf=""            # default: conf/v<version>_cpu.yaml
pairs=""           # your own unpaired corpus instead of stage 0
gan_pf=""          # a mel-cepstrum GAN postfilter checkpoint to score beside (same test sentences)
eval_set=test      # test | dev
tag=""
jobs=""            # parallel processes for analysis (default: all cores)

parse_options "$0" "$@"
case $version in 1|2) ;; *) echo "--version: expected 1 or 2, got '$version'" >&2; exit 2;; esac
case $case in tts|vocoder) ;; *) echo "--case: expected tts or vocoder, got '$case'" >&2; exit 2;; esac
case $eval_set in test|dev) ;; *) echo "--eval-set: expected test or dev, got '$eval_set'" >&2; exit 2;; esac
conf=${conf:-conf/v${version}_cpu.yaml}
pairs=$(abspath "$pairs")
gan_pf=$(abspath "$gan_pf")
enter_recipe "$0"
name=$(basename "${conf%.yaml}")
own=false
[ -z "$pairs" ] && { pairs=data/unpaired_$case; own=true; }
feats=dump/feats_$(basename "$pairs")
expdir=exp/${tag:-$(basename "$pairs")_${name}}
filtered=$expdir/postfiltered/$eval_set
jobs_arg=()
[ -n "$jobs" ] && jobs_arg=(--jobs "$jobs")

if stage_on 0 && $own; then
  echo "== stage 0: unpaired data ($case case) -> $pairs"
  ../gan_postfilter/run.sh --stop-stage 2 "${jobs_arg[@]}"
  python local/make_unpaired.py --pairs ../gan_postfilter/data/kal_diphone/pairs_mcep --out "$pairs" --case "$case" \
    "${jobs_arg[@]}"
fi

if stage_on 1; then
  echo "== stage 1: features of the natural training speech (GV scaling) -> $feats"
  vcgan prepare --corpus "$pairs" --layout split --speakers natural --out "$feats" "${jobs_arg[@]}"
fi

if stage_on 2; then
  echo "== stage 2: train -> $expdir/train"
  vcgan train --config "$conf" data.root="$pairs" out_dir="$expdir/train" "${train_args[@]}"
fi

if stage_on 3; then
  echo "== stage 3: postfilter $pairs/synthetic/$eval_set"
  vcgan postfilter --checkpoint "$expdir/train/checkpoints/latest.pt" "$pairs/synthetic/$eval_set" -o "$filtered/wave"
  vcgan postfilter --gv-scaling "$feats" --kind mcep "$pairs/synthetic/$eval_set" -o "$filtered/gv_scaling"
  [ -n "$gan_pf" ] && vcgan postfilter --checkpoint "$gan_pf" "$pairs/synthetic/$eval_set" -o "$filtered/gan_pf"
fi

if stage_on 4; then
  echo "== stage 4: evaluate against $pairs/natural/$eval_set"
  model=WaveCycleGAN
  if [ "$version" = 2 ]; then model=WaveCycleGAN2; fi
  dirs=("$pairs/synthetic/$eval_set" "$filtered/gv_scaling") names="synthetic,GV scaling"
  [ -d "$filtered/gan_pf" ] && { dirs+=("$filtered/gan_pf"); names+=",GAN postfilter (paired)"; }
  dirs+=("$filtered/wave"); names+=",$model"
  vcgan evaluate --postfilter "$pairs/natural/$eval_set" "${dirs[@]}" --names "$names" \
    --baselines "synthetic,GV scaling" -o "$expdir/eval/$eval_set/postfilter" \
    --title "$model ($name), $(basename "$pairs"), $eval_set sentences" "${jobs_arg[@]}"
  python local/tone_sweep.py "$model=$expdir/train/checkpoints/latest.pt" -o "$expdir/eval/tone_sweep"
  echo "summary: $expdir/eval/$eval_set/postfilter.md (image components on a tone sweep: $expdir/eval/tone_sweep.md)"
fi
exit
}

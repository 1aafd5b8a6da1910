#!/usr/bin/env bash
# GAN postfilter recipe: over-smoothed synthetic speech made offline, a GAN postfilter
# trained to restore its texture, judged beside the synthetic input and GV scaling.
#
# Stages: 0 sentences -> 1 natural speech (festival, with segment timing) -> 2 synthetic/natural
#         pairs (MSE acoustic model, out-of-fold) -> 3 features -> 4 train -> 5 postfilter the test
#         sentences (+ GV scaling) -> 6 evaluate (MCD, GV, MS, LSD, plots;
#         mcep: GV and MS of the output mel-cepstra too, domains.md)
#
#   ./run.sh                                  # mel-cepstrum GAN-PF on festival kal_diphone
#   ./run.sh --kind stft                      # band-split STFT GAN-PF
#   ./run.sh --voice ked_diphone --n-train 400
#   ./run.sh --stage 4 -- train.max_minutes=60   # train again, with config overrides after --
#   ./run.sh --pairs /data/mytts              # your own ROOT/{synthetic,natural}/{train,test}/*.wav: stages 3-6
#   ./run.sh --stage 5 --eval-set dev         # judge on the development sentences (tune there, report test)
set -euo pipefail
{   # the whole script is read before it runs, so editing it cannot change a run in progress
. "$(cd "$(dirname "$0")" && pwd)/../common/recipe.sh"   # helpers shared by the recipes

stage=0
stop_stage=6
kind=mcep          # mcep | stft
conf=""            # default: conf/<kind>_cpu.yaml
voice=kal_diphone  # festival voice of the natural speech (recorded diphones)
n_train=200
n_test=20
n_dev=20           # the last n_dev training sentences: out-of-fold synthetic speech the postfilter never trains on
eval_set=test      # stages 5-6 on: test | dev
folds=4            # acoustic model folds: training sentences get out-of-fold predictions
acoustic_steps=1000
pairs=""           # an existing pair corpus instead of stages 0-2
tag=""
jobs=""           # parallel processes for analysis (default: all cores)
threads=""        # torch threads of the acoustic model (default: torch's)

parse_options "$0" "$@"
case $eval_set in test|dev) ;; *) echo "--eval-set: expected test or dev, got '$eval_set'" >&2; exit 2;; esac
conf=${conf:-conf/${kind}_cpu.yaml}
pairs=$(abspath "$pairs")
enter_recipe "$0"
name=$(basename "${conf%.yaml}")
data=data/$voice
own_pairs=false
[ -z "$pairs" ] && { pairs=$data/pairs_$kind; own_pairs=true; }   # else stages 0-2 are skipped
feats=dump/feats_$(basename "$pairs")
expdir=exp/${tag:-${voice}_${name}}
filtered=$expdir/postfiltered/$eval_set
jobs_arg=()
[ -n "$jobs" ] && jobs_arg=(--jobs "$jobs")

if stage_on 0 && $own_pairs; then
  echo "== stage 0: sentences -> $data/text"
  python local/make_text.py --out "$data/text" --n-train "$n_train" --n-test "$n_test"
fi

if stage_on 1 && $own_pairs; then
  echo "== stage 1: natural speech ($voice) -> $data/natural"
  vcgan festival-corpus --voice "$voice" --text "$data/text/train.txt" --out "$data/natural/train"
  vcgan festival-corpus --voice "$voice" --text "$data/text/test.txt" --out "$data/natural/test"
fi

if stage_on 2 && $own_pairs; then
  echo "== stage 2: synthetic/natural pairs ($kind) -> $pairs"
  vcgan tts-pairs --kind "$kind" --train "$data/natural/train" --test "$data/natural/test" --out "$pairs" \
    --folds "$folds" --dev "$n_dev" --steps "$acoustic_steps" --config "$conf" "${jobs_arg[@]}" ${threads:+--threads "$threads"}
fi

if stage_on 3; then
  echo "== stage 3: features -> $feats"
  vcgan prepare --corpus "$pairs" --layout split --speakers synthetic natural --config "$conf" --out "$feats" "${jobs_arg[@]}"
fi

if stage_on 4; then
  echo "== stage 4: train -> $expdir/train"
  vcgan train --config "$conf" data.feats_dir="$feats" out_dir="$expdir/train" "${train_args[@]}"
fi

if stage_on 5; then
  echo "== stage 5: postfilter $pairs/synthetic/$eval_set"
  vcgan postfilter --checkpoint "$expdir/train/checkpoints/latest.pt" "$pairs/synthetic/$eval_set" -o "$filtered/gan"
  vcgan postfilter --gv-scaling "$feats" --kind "$kind" "$pairs/synthetic/$eval_set" -o "$filtered/gv_scaling"
fi

if stage_on 6; then
  echo "== stage 6: evaluate against $pairs/natural/$eval_set"
  edges=()
  [ "$kind" = stft ] && edges=(--band-edges-from "$expdir/train/checkpoints/latest.pt")
  vcgan evaluate --postfilter "$pairs/natural/$eval_set" "$pairs/synthetic/$eval_set" "$filtered/gv_scaling" \
    "$filtered/gan" --names "synthetic,GV scaling,GAN postfilter" \
    --baselines "synthetic,GV scaling" -o "$expdir/eval/$eval_set/postfilter" \
    --title "GAN postfilter ($kind), $voice, $eval_set sentences" "${edges[@]}" "${jobs_arg[@]}"
  if [ "$kind" = mcep ]; then   # GV/MS of the output mel-cepstra themselves (the papers' measure) and of the speech
    python local/envelope_bound.py --pairs "$pairs" --split "$eval_set" --feats "$feats" \
      --out "$expdir/eval/$eval_set/domains" "$expdir"
  fi
  echo "summary: $expdir/eval/$eval_set/postfilter.md"
fi
exit
}

#!/usr/bin/env bash
# StyleGAN recipe: unconditional image generation, judged beside a DCGAN of the same size
# trained for the same time on the same data.
#
# Stages: 0 data -> 1 classifier (for the measures) -> 2 train -> 3 sample grids (samples,
#         style mixing, truncation sweep, interpolations) -> 4 evaluate (Frechet distance, class
#         coverage and confidence beside the untrained generator, a real-vs-real floor and --compare)
#
#   ./run.sh                                     # StyleGAN on Fashion-MNIST (all classes, padded to 32x32)
#   ./run.sh --conf conf/dcgan.yaml              # the DCGAN baseline, same data, same time
#   ./run.sh --stage 4 --compare exp/dcgan/train/checkpoints/latest.pt   # both in one table
#   ./run.sh --layout folder --root /data/faces --size 64 --conf conf/stylegan_paper.yaml
#                                                # any folder of images, resized (no measures: unlabelled)
#   ./run.sh --stage 2 -- train.max_minutes=120  # train again, config overrides after --
set -euo pipefail
{   # the whole script is read before it runs, so editing it cannot change a run in progress
. "$(cd "$(dirname "$0")" && pwd)/../common/recipe.sh"   # helpers shared by the recipes

stage=0
stop_stage=4
conf=conf/stylegan_cpu.yaml
layout=fashion_mnist  # fashion_mnist | folder
root=""               # fashion_mnist: empty finds Debian's package; folder: the image folder
size=""               # 32 | 64 | 128 | 256 (default: the config's)
tag=""
compare=""            # another generator's checkpoint to score in the same table (e.g. the DCGAN's)
samples=5000          # samples per system at stage 4
classifier=$HOME/.cache/vcgan/fashion_mnist_classifier.pt

parse_options "$0" "$@"
compare=$(abspath "$compare")
enter_recipe "$0"
tag=${tag:-$(basename "${conf%.yaml}")}
expdir=exp/$tag
ckpt=$expdir/train/checkpoints/latest.pt
data_args=(data.layout="$layout")
[ -n "$root" ] && data_args+=(data.root="$root")
[ -n "$size" ] && data_args+=(data.image_size="$size")
fm_args=()
[ -n "$root" ] && [ "$layout" = fashion_mnist ] && fm_args=(--fashion-mnist "$root")

if stage_on 0; then
  echo "== stage 0: data ($layout${root:+, $root})"
  image_data_check "$layout" "$root"
fi

if stage_on 1 && [ "$layout" = fashion_mnist ]; then
  echo "== stage 1: the Fashion-MNIST classifier the measures use ($classifier)"
  fashion_mnist_classifier "$classifier" "${fm_args[@]}"
fi

if stage_on 2; then
  echo "== stage 2: train -> $expdir/train"
  vcgan train --config "$conf" "${data_args[@]}" out_dir="$expdir/train" "${train_args[@]}"
fi

if stage_on 3; then
  echo "== stage 3: sample grids -> $expdir/samples"
  psi=$(python -c "import sys, vcgan; m = vcgan.load(sys.argv[1]); print(m.model_cfg.get('truncation_psi', 1.0) if m.style_based else 1.0)" "$ckpt")
  vcgan sample --checkpoint "$ckpt" -n 64 -o "$expdir/samples" --grids --psi "$psi"
fi

if stage_on 4 && [ "$layout" = fashion_mnist ]; then
  echo "== stage 4: evaluate -> $expdir/eval"
  names=$tag checkpoints=(--checkpoint "$ckpt")
  [ -n "$compare" ] && { checkpoints+=(--checkpoint "$compare"); names+=",$(basename "$(dirname "$(dirname "$(dirname "$compare")")")")"; }
  vcgan evaluate-images "${checkpoints[@]}" --names "$names" -o "$expdir/eval" --samples "$samples" \
    --classifier "$classifier" "${fm_args[@]}"
elif stage_on 4; then
  echo "== stage 4: skipped: the generator measures need a labelled dataset (Fashion-MNIST); see $expdir/samples"
fi
exit
}

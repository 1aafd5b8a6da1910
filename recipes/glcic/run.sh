#!/usr/bin/env bash
# GLCIC recipe: image completion (globally and locally consistent), judged on held-out images
# with held-out holes beside mean fill, OpenCV's Telea inpainting, biharmonic inpainting and the
# network at the end of its MSE-only phase.
#
# Stages: 0 data -> 1 classifier (Fashion-MNIST measures) -> 2 train (three phases) ->
#         3 completions (rectangle, free-form and border masks) -> 4 evaluate (test split)
#
#   ./run.sh                                   # Fashion-MNIST 32 px, then the wheels' photos 64 px
#   ./run.sh --data photos                     # one of them
#   ./run.sh --stage 4 --split dev             # score the development split (choosing settings)
#   ./run.sh --stage 4 --mask-seed 7           # new held-out holes (-> eval_test_seed7) once the test
#                                              # images have been read with the default ones
#   ./run.sh --data folder --root /data/places --conf conf/glcic_paper.yaml   # any folder (root/test/ to score)
#   ./run.sh --stage 2 -- train.max_minutes=60 # train again, config overrides after --
set -euo pipefail
{   # the whole script is read before it runs, so editing it cannot change a run in progress
. "$(cd "$(dirname "$0")" && pwd)/../common/recipe.sh"   # helpers shared by the recipes

stage=0
stop_stage=4
data=both             # fashion_mnist | photos | both | folder
conf=""               # default: conf/glcic_<data>.yaml
root=""               # fashion_mnist: empty finds Debian's package; folder: the image folder
split=test            # stage 4: test (report) | dev (choose settings)
mask_seed=""          # stage 4: the held-out holes' seed (empty: 2017)
tag=""
classifier=$HOME/.cache/vcgan/fashion_mnist_classifier.pt

parse_options "$0" "$@"
user_conf=$conf
[ -n "$conf" ] || conf=conf/glcic_photos.yaml  # for the check; each dataset takes its own below
enter_recipe "$0"
[ -n "$user_conf" ] || conf=""
case "$data" in
  both) datasets=(fashion_mnist photos) ;;
  fashion_mnist|photos|folder) datasets=("$data") ;;
  *) echo "run.sh: --data fashion_mnist, photos, both or folder, got $data" >&2; exit 2 ;;
esac

for d in "${datasets[@]}"; do
  c=${conf:-conf/glcic_$d.yaml}
  [ "$d" = folder ] && [ -z "$conf" ] && c=conf/glcic_photos.yaml
  t=${tag:-$(basename "${c%.yaml}")}
  [ -n "$tag" ] && [ ${#datasets[@]} -gt 1 ] && t=${tag}_$d
  expdir=exp/$t
  ckpt=$expdir/train/checkpoints/latest.pt
  data_args=(data.layout="$d")
  [ -n "$root" ] && data_args+=(data.root="$root")

  if stage_on 0; then
    echo "== stage 0: data ($d${root:+, $root})"
    case "$d" in
      fashion_mnist) image_data_check fashion_mnist "$root" ;;
      photos) python -c "from image_gans.photos import load_photos; [print(s, ', '.join(load_photos(s))) for s in ('train', 'dev', 'test')]" ;;
      folder) image_data_check folder "$root" ;;
    esac
  fi

  if stage_on 1 && [ "$d" = fashion_mnist ]; then
    echo "== stage 1: the Fashion-MNIST classifier the measures use ($classifier)"
    fashion_mnist_classifier "$classifier" ${root:+--fashion-mnist "$root"}
  fi

  if stage_on 2; then
    echo "== stage 2: train $c -> $expdir/train"
    vcgan train --config "$c" "${data_args[@]}" out_dir="$expdir/train" "${train_args[@]}"
  fi

  if stage_on 3; then
    echo "== stage 3: completions -> $expdir/completions"
    python - "$ckpt" "$expdir/completions" <<'PY'
import sys
from pathlib import Path

import numpy as np

import vcgan
from image_gans.glcic.family import load_split
from image_gans.glcic.masks import free_form_mask, rectangle_mask
from image_gans.data import write_image, to_tensor
from PIL import Image

model, out = vcgan.load(sys.argv[1]), Path(sys.argv[2])
images = load_split({**model.config["data"], "max_images": None}, "test")
s = images.shape[1]
masks = {"rectangle": rectangle_mask((s, s), s // 4, s // 3, s // 2, s // 3),
         "free_form": free_form_mask(s, np.random.default_rng(1)),
         "border": rectangle_mask((s, s), s - s // 3, 0, s // 3, s // 2)}
for i in range(4):
    src = out / f"image{i}.png"
    write_image(src, to_tensor(images[(i * 37) % len(images)]))  # the same images as before on large sets
    for name, m in masks.items():
        Image.fromarray((m * 255).astype(np.uint8)).save(out / f"mask_{name}.png")
print(f"inputs and masks in {out}")
PY
    for m in rectangle free_form border; do
      vcgan complete --checkpoint "$ckpt" "$expdir"/completions/image?.png --mask "$expdir/completions/mask_$m.png" \
        -o "$expdir/completions/$m"
    done
  fi

  if stage_on 4; then
    evaldir=$expdir/eval_$split${mask_seed:+_seed$mask_seed}
    echo "== stage 4: evaluate ($split${mask_seed:+, holes of seed $mask_seed}) -> $evaldir"
    phase1=$(ls "$expdir"/train/checkpoints/phase_end_*.pt 2>/dev/null | head -n 1 || true)
    checkpoints=(--checkpoint "$ckpt") names=glcic
    [ -n "$phase1" ] && { checkpoints+=(--checkpoint "$phase1"); names+=",phase 1 (MSE only)"; }
    cls_args=()
    [ "$d" = fashion_mnist ] && cls_args=(--classifier "$classifier" ${root:+--fashion-mnist "$root"})
    vcgan evaluate-images "${checkpoints[@]}" --names "$names" --split "$split" --blend \
      ${mask_seed:+--mask-seed "$mask_seed"} -o "$evaldir" "${cls_args[@]}"
  fi
done
exit
}

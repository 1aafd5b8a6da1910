#!/usr/bin/env bash
# pix2pix recipe: paired image translation.
#
# Stages: 0 data -> 1 classifier (for the measures) -> 2 train -> 3 evaluate (FID, KID, PSNR, SSIM, L1, grid)
#
#   ./run.sh                                         # Canny edges -> Fashion-MNIST image (dataset-fashion-mnist)
#   ./run.sh --layout aligned --root /data/facades --conf conf/paper.yaml
#                                                    # A|B side by side; or --layout folders: ROOT/{train,test}/{A,B}/
#   ./run.sh --stage 3                               # evaluate the trained model again
set -euo pipefail
{   # the whole script is read before it runs, so editing it cannot change a run in progress
. "$(cd "$(dirname "$0")" && pwd)/../common/recipe.sh"   # helpers shared by the recipes

stage=0
stop_stage=3
conf=conf/cpu.yaml
layout=fashion_mnist  # fashion_mnist | aligned | folders
root=""               # dataset folder (fashion_mnist: empty finds Debian's package)
domains=""            # Fashion-MNIST classes to draw (default: all)
tag=""
classifier=$HOME/.cache/vcgan/fashion_mnist_classifier.pt
max_eval_images=""
train_args=()         # extra key=value overrides after --

. "$(dirname "$0")/../common/image_recipe.sh"
exit
}

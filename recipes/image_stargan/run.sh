#!/usr/bin/env bash
# StarGAN recipe: one generator translates between many image domains.
#
# Stages: 0 data -> 1 classifier (for the measures) -> 2 train -> 3 evaluate (accuracy, FID, KID, grid)
#
#   ./run.sh                                         # Fashion-MNIST tops: t-shirt, pullover, shirt, coat
#   ./run.sh --layout celeba --root /data/celeba --domains "Black_Hair Blond_Hair Male" --conf conf/celeba.yaml
#                                                    # or --layout folders: ROOT/{train,test}/<domain>/*.png
#   ./run.sh --stage 3                               # evaluate the trained model again
set -euo pipefail
{   # the whole script is read before it runs, so editing it cannot change a run in progress
. "$(cd "$(dirname "$0")" && pwd)/../common/recipe.sh"   # helpers shared by the recipes

stage=0
stop_stage=3
conf=conf/cpu.yaml
layout=fashion_mnist  # fashion_mnist | folders | celeba
root=""               # dataset folder (fashion_mnist: empty finds Debian's package)
domains=""            # domain names (default: the config's)
tag=""
classifier=$HOME/.cache/vcgan/fashion_mnist_classifier.pt
max_eval_images=""
train_args=()         # extra key=value overrides after --

. "$(dirname "$0")/../common/image_recipe.sh"
exit
}

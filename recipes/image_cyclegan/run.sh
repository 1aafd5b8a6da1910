#!/usr/bin/env bash
# CycleGAN recipe: unpaired two-domain image translation.
#
# Stages: 0 data -> 1 classifier (for the measures) -> 2 train -> 3 evaluate (accuracy, FID, KID, grid)
#
#   ./run.sh                                         # Fashion-MNIST sneaker <-> ankle boot (dataset-fashion-mnist)
#   ./run.sh --layout folders --root /data/horse2zebra --domains "horse zebra" --conf conf/paper.yaml
#                                                    # junyanz layout: trainA, trainB, testA, testB
#   ./run.sh --stage 3                               # evaluate the trained model again
set -euo pipefail
{   # the whole script is read before it runs, so editing it cannot change a run in progress
. "$(cd "$(dirname "$0")" && pwd)/../common/recipe.sh"   # helpers shared by the recipes

stage=0
stop_stage=3
conf=conf/cpu.yaml
layout=fashion_mnist  # fashion_mnist | folders
root=""               # dataset folder (fashion_mnist: empty finds Debian's package)
domains=""            # two domain names (default: the config's)
tag=""
classifier=$HOME/.cache/vcgan/fashion_mnist_classifier.pt
max_eval_images=""
train_args=()         # extra key=value overrides after --

. "$(dirname "$0")/../common/image_recipe.sh"
exit
}

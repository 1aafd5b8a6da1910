# The stages every image recipe shares (sourced by recipes/image_*/run.sh and recipes/pix2pix/run.sh
# after they set task, conf and their defaults): 0 data -> 1 classifier -> 2 train -> 3 evaluate.

parse_options "$0" "$@"
enter_recipe "$0"
tag=${tag:-$(basename "${conf%.yaml}")}
expdir=exp/$tag
data_args=(data.layout="$layout")
[ -n "$root" ] && data_args+=(data.root="$root")
[ -n "$domains" ] && data_args+=("data.domains=$(yaml_list "$domains")")
fm_args=()    # the Fashion-MNIST classifier measures Fashion-MNIST only; other datasets get their own at stage 3
cls_args=()
if [ "$layout" = fashion_mnist ]; then
  cls_args=(--classifier "$classifier")
  [ -n "$root" ] && fm_args=(--fashion-mnist "$root")
fi

if stage_on 0; then
  echo "== stage 0: data ($layout${root:+, $root})"
  image_data_check "$layout" "$root"
fi

if stage_on 1 && [ "$layout" != fashion_mnist ]; then
  echo "== stage 1: skipped: the measures of $layout data use a classifier of its own training domains, trained at stage 3"
elif stage_on 1; then
  echo "== stage 1: the Fashion-MNIST classifier the measures use ($classifier)"
  fashion_mnist_classifier "$classifier" "${fm_args[@]}"
fi

if stage_on 2; then
  echo "== stage 2: train -> $expdir/train"
  vcgan train --config "$conf" "${data_args[@]}" out_dir="$expdir/train" "${train_args[@]}"
fi

if stage_on 3; then
  echo "== stage 3: evaluate on the test split -> $expdir/eval"
  vcgan evaluate-images --checkpoint "$expdir/train/checkpoints/latest.pt" -o "$expdir/eval" \
    "${cls_args[@]}" "${fm_args[@]}" ${max_eval_images:+--max-images "$max_eval_images"}
fi

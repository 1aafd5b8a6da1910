# Shell helpers shared by the recipes (sourced, not run).

# abspath PATH: a path given by the user, relative to where they called the recipe from
abspath() { case "$1" in ""|/*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

# enter_recipe SCRIPT: make the user's $corpus and $conf independent of the directory they called
# from, move into the recipe's directory, and stop at once if the config does not exist
enter_recipe() {
  if [ -n "${corpus:-}" ] && [ "$corpus" != ../demo/corpus ]; then corpus=$(abspath "$corpus"); fi
  if [ -n "${root:-}" ]; then root=$(abspath "$root"); fi
  [ "$conf" = "${conf#conf/}" ] && conf=$(abspath "$conf")
  cd "$(dirname "$1")"
  [ -f "$conf" ] || { echo "run.sh: config $conf not found" >&2; exit 1; }
}

# detect_layout CORPUS SPEAKER: vcc2018 | split | generic
detect_layout() {
  if [ -d "$1/vcc2018_training" ]; then echo vcc2018
  elif [ -d "$1/$2/train" ]; then echo split
  else echo generic; fi
}

# default_test_dir LAYOUT CORPUS SPEAKER ROLE: a speaker's test files (ROLE: source or reference);
# empty for the generic layout, whose test files the user names.
default_test_dir() {
  local layout=$1 corpus=$2 speaker=$3 role=$4
  case "$layout" in
    split) echo "$corpus/$speaker/test" ;;
    vcc2018)  # sources from the evaluation set, references from the reference set, else the other one
      local first=vcc2018_evaluation second=vcc2018_reference
      [ "$role" = reference ] && { first=vcc2018_reference; second=vcc2018_evaluation; }
      if [ -d "$corpus/$first/$speaker" ]; then echo "$corpus/$first/$speaker"
      elif [ -d "$corpus/$second/$speaker" ]; then echo "$corpus/$second/$speaker"; fi ;;
  esac
}

# conf_sample_rate CONF: the features' sample rate of a config (16000 when not set)
conf_sample_rate() {
  local rate
  rate=$(sed -n 's/^ *sample_rate: *\([0-9]*\).*/\1/p' "$1" | head -1)
  echo "${rate:-16000}"
}

# stage_data CORPUS: check the corpus exists; the bundled demo corpus is made if it is missing (needs Festival)
stage_data() {
  if [ ! -d "$1" ] && [ "$1" = ../demo/corpus ]; then python ../demo/make_corpus.py; fi
  [ -d "$1" ] || { echo "corpus $1 not found" >&2; exit 1; }
}

# parse_options SCRIPT "$@": ESPnet/Kaldi-style options. --some-name VALUE sets the recipe's
# variable some_name (it must have a default, so a typo is an error); everything after "--"
# goes to train_args (config overrides for `vcgan train`); -h/--help prints the script's
# header comment.
parse_options() {
  local script=$1 name
  shift
  train_args=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --) shift; train_args=("$@"); return 0 ;;
      -h|--help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$script"; exit 0 ;;
      --*)
        name=${1#--}; name=${name//-/_}
        if ! [[ "$name" =~ ^[a-z][a-z0-9_]*$ ]] || [ "$name" = train_args ] || [ -z "${!name+set}" ]; then
          echo "$(basename "$script"): unknown option $1 (see --help)" >&2; exit 2
        fi
        [ $# -ge 2 ] || { echo "$(basename "$script"): option $1 needs a value" >&2; exit 2; }
        printf -v "$name" '%s' "$2"
        shift 2 ;;
      *) echo "$(basename "$script"): unexpected argument $1 (options are --name value; see --help)" >&2; exit 2 ;;
    esac
  done
}

# require_bool SCRIPT NAME: exit 2 unless option NAME holds true or false
require_bool() {
  case "${!2}" in true|false) ;; *) echo "$(basename "$1"): --$2 must be true or false, got '${!2}'" >&2; exit 2 ;; esac
}

# stage_on N: whether stage N is inside --stage..--stop-stage
# corpus_suffix CORPUS: "" for the bundled demo corpus, else "_<parent>_<name>" of its path, so
# features of different corpora with the same speakers land in different dump folders
corpus_suffix() {
  [ "$1" = ../demo/corpus ] && return 0
  local p=${1%/}
  echo "_$(basename "$(dirname "$p")")_$(basename "$p")" | tr -c 'A-Za-z0-9_.\n-' '_'
}
stage_on() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }

# yaml_list "a b c": ["a", "b", "c"] for a key=value override
yaml_list() { local out="" w; for w in $1; do out+="\"$w\", "; done; echo "[${out%, }]"; }

# image_data_check LAYOUT ROOT: where Fashion-MNIST is (ROOT empty: Debian's package), or that
# the dataset folder ROOT exists
image_data_check() {
  if [ "$1" = fashion_mnist ]; then
    python -c "import sys; from image_gans.data import find_fashion_mnist; print('Fashion-MNIST:', find_fashion_mnist(sys.argv[1] or None))" "$2"
  else
    [ -d "$2" ] || { echo "dataset folder $2 not found (--root)" >&2; exit 1; }
  fi
}

# fashion_mnist_classifier PATH [--fashion-mnist DIR]: the classifier the image measures use,
# trained once and cached at PATH
fashion_mnist_classifier() {
  local path=$1
  shift
  if [ -f "$path" ]; then echo "cached: $path"; else vcgan classifier --out "$path" "$@"; fi
}

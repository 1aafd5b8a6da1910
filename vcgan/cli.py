"""The `vcgan` command."""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from .errors import VcganError


def _prepare(a):
    from .features.cache import prepare_features
    from .features.corpus import discover_corpus
    from .features.world import FeatureConfig
    from .training import resolve_config

    cfg = resolve_config(a.config, [f"features.{o}" if not o.startswith("features.") else o for o in a.overrides])
    feats = FeatureConfig.from_dict(cfg["features"])
    corpus = discover_corpus(a.corpus, a.layout, a.speakers)
    n = sum(len(v) for s in corpus.values() for v in s.values())
    print(f"{len(corpus)} speakers ({', '.join(corpus)}), {n} files -> {a.out}")
    stats = prepare_features(corpus, a.out, feats, jobs=a.jobs, skip_bad=a.skip_bad)
    for spk, s in stats.items():
        print(f"  {spk}: {s['num_utterances']} training utterances, {s['num_frames']} frames, "
              f"mean F0 {2.718281828 ** s['log_f0_mean']:.1f} Hz")


def _train(a):
    from .training import resolve_config, train

    cfg = resolve_config(a.config, a.overrides)
    resume = {"auto": None, "no": False}.get(a.resume, a.resume)
    summary = train(cfg, resume=resume)
    print(json.dumps(summary, indent=1))


def _tasks(a):
    from .engine.registry import families
    from .training import defaults_for

    for fam in families():
        print(f"{fam.name}: {fam.description}")
        for task in fam.tasks:
            sections = ", ".join(k for k in defaults_for(task) if k not in ("task", "out_dir"))
            print(f"  task: {task}    (config sections: {sections})")


def _load(path, command: str | tuple[str, ...] | None, used_by: str | None = None):
    from .families import load

    return load(path, command, used_by)


def _report_skipped(model) -> None:
    skipped = getattr(model, "skipped", [])
    for _, why in skipped:  # each message names its file
        print(f"skipped: {why}", file=sys.stderr)
    if skipped:
        print(f"{len(skipped)} input(s) skipped (--skip-bad)", file=sys.stderr)


def _info(a):
    from .engine.inference import describe_text

    info = _load(a.checkpoint, None).describe()
    print(json.dumps(info, indent=1) if a.json else describe_text(info))


def _translate(a):
    model = _load(a.checkpoint, "translate")
    written = model.apply_paths(a.input, a.output, a.target, skip_bad=a.skip_bad)
    print(f"wrote {len(written)} image(s) to {a.output}")
    _report_skipped(model)


def _fashion_mnist_classifier(path=None, root=None, retrain=False):
    from image_gans.metrics import load_classifier  # the default dataset's classifier

    return load_classifier(path, root=root, retrain=retrain)


def _sample(a):
    model = _load(a.checkpoint, "sample")
    written = model.apply_paths(a.output, n=a.n, seed=a.seed, psi=a.psi, grids=a.grids)
    print(f"wrote {a.n} image(s), grid.png{' and the mixing, truncation and interpolation grids' if a.grids else ''} "
          f"to {a.output}")
    return written


def _checkpoint_names(a) -> list[str]:
    names = a.names.split(",") if a.names else [Path(c).stem for c in a.checkpoint]
    if len(names) != len(a.checkpoint) or len(set(names)) != len(names):
        raise VcganError(f"--names: {len(a.checkpoint)} distinct names, one per --checkpoint, got {a.names!r}")
    return names


def _evaluate_generators(a, first):
    from image_gans.stylegan.sample import evaluate_samplers

    names = _checkpoint_names(a)
    samplers = {names[0]: first, **{name: _load(c, "sample", "evaluate-images")
                                    for name, c in zip(names[1:], a.checkpoint[1:])}}
    classifier = _fashion_mnist_classifier(a.classifier, a.fashion_mnist) if a.classifier or a.fashion_mnist else None
    evaluate_samplers(samplers, a.output, n=a.samples, classifier=classifier)
    print((Path(a.output) / "scores.md").read_text())
    print(f"wrote {a.output}/scores.json, scores.md and grid.png")


def _complete(a):
    model = _load(a.checkpoint, "complete")
    written = model.apply_paths(a.input, a.mask, a.output, blend=a.blend, skip_bad=a.skip_bad)
    print(f"wrote {len(written)} completed image(s) to {a.output}")
    _report_skipped(model)


def _evaluate_completion(a, first):
    from image_gans.glcic.evaluate import evaluate_completion

    names = _checkpoint_names(a)
    others = {name: _load(c, "complete", "evaluate-images") for name, c in zip(names[1:], a.checkpoint[1:])}
    classifier = _fashion_mnist_classifier(a.classifier, a.fashion_mnist) if a.classifier or a.fashion_mnist else None
    evaluate_completion(first, a.output, others, split=a.split, max_images=a.max_images or 2000,
                        classifier=classifier, blend=a.blend, seed=a.mask_seed)
    print((Path(a.output) / "scores.md").read_text())
    print(f"wrote {a.output}/scores.json, scores.md and grid.png")


def _evaluate_images(a):
    model = _load(a.checkpoint[0], ("translate", "sample", "complete"), "evaluate-images")
    if model.family.applies == "sample":
        return _evaluate_generators(a, model)
    if model.family.applies == "complete":
        return _evaluate_completion(a, model)
    if a.split != "test" or a.blend or a.mask_seed is not None:
        raise VcganError("--split, --blend and --mask-seed are options of completion checkpoints")
    if len(a.checkpoint) > 1:
        raise VcganError("evaluate-images: one translation checkpoint at a time (several --checkpoint: generators)")
    classifier = ((lambda: _fashion_mnist_classifier(a.classifier, a.fashion_mnist))
                  if a.classifier or a.fashion_mnist else None)
    model.evaluate(a.output, classifier=classifier, max_images=a.max_images)
    print((Path(a.output) / "scores.md").read_text())
    print(f"wrote {a.output}/scores.json, scores.md and grid.png")


def _classifier(a):
    if a.checkpoint:
        if a.out or a.fashion_mnist:
            raise VcganError("--checkpoint trains its own dataset's classifier into the cache: no --out/--fashion-mnist")
        _, meta = _load(a.checkpoint, "translate", "classifier").measure_classifier(retrain=True)
    else:
        _, meta = _fashion_mnist_classifier(a.out, a.fashion_mnist, retrain=True)
    print(f"classifier of {meta['trained_on']}: test accuracy {meta['test_accuracy']:.4f} -> {a.out or 'the cache'}")


def _convert(a):
    from .models.voice_conversion.converter import (Converter, check_chunking, check_semitones, parse_anchor,
                                                    require_shift_count)

    if bool(a.checkpoint) == bool(a.feats):
        raise VcganError("give either --checkpoint (trained model) or --feats (statistics transform baseline)")
    if a.calibrate and not a.checkpoint:
        raise VcganError("--calibrate re-standardises a trained model's output: give --checkpoint too")
    if a.no_calibrate and not a.checkpoint:
        raise VcganError("--no-calibrate leaves a trained model's output as it is: give --checkpoint too")
    if a.calibrate and a.no_calibrate:
        raise VcganError("--calibrate FEATS and --no-calibrate exclude each other")
    if a.anchor and not a.calibrate:
        raise VcganError("--anchor averages the model's output with the statistics transform before --calibrate "
                         "re-standardises it: give --calibrate FEATS too")
    if a.shift_average is not None and not a.checkpoint:
        raise VcganError("--shift-average averages a trained model's output over frame shifts: give --checkpoint too")
    if a.shift_average is not None:
        require_shift_count(a.shift_average)  # before the checkpoint is loaded
    check_chunking(a.chunk_frames, a.chunk_overlap)
    if a.pitch_shift:
        check_semitones(a.pitch_shift)  # refused before the model is loaded
    anchor = parse_anchor(a.anchor) if a.anchor else None
    targets = [t for t in a.target.split(",") if t]
    if not targets or len(targets) != len(set(targets)):
        raise VcganError(f"--target {a.target!r}: give one speaker or several distinct ones, comma-separated")
    if a.checkpoint:
        model = _load(a.checkpoint, "convert")
        if not model.calibration and not (a.no_calibrate or a.calibrate):
            print(f"note: {a.checkpoint} holds no output calibration (it is stored when `vcgan train` finishes; "
                  "this is an intermediate, interrupted or older checkpoint): converting uncalibrated; "
                  "--calibrate FEATS (its training features) calibrates", file=sys.stderr)
        conv = model.converter(calibrate=not a.no_calibrate, shift_average=a.shift_average,
                               calibrate_on=a.calibrate, anchor=anchor)
    else:
        conv = Converter.statistics_transform(a.feats)
    if a.pitch_shift:
        conv = conv.pitch_shifted(a.pitch_shift)
    several = len(targets) > 1
    outs = {t: Path(a.output) / f"{a.source}_to_{t}" if several else a.output for t in targets}
    written = conv.convert_paths_to(a.input, outs, a.source, a.chunk_frames, a.chunk_overlap, cache_dir=a.cache,
                                    skip_bad=a.skip_bad)
    for t, files in written.items():
        print(f"{conv.name}: wrote {len(files)} file(s) to {outs[t]}")
    _report_skipped(conv)


def _evaluate(a):
    from .metrics.report import evaluate, markdown_table, write_report

    if a.postfilter:
        from .metrics.postfilter_report import evaluate_postfilter, markdown, write_postfilter_report

        names = a.names.split(",") if a.names else [Path(d).name for d in a.conv_dir]
        if len(names) != len(a.conv_dir) or len(set(names)) != len(names):
            raise VcganError(f"--names: give {len(a.conv_dir)} distinct names, one per directory; got {names}")
        edges = None
        if a.band_edges_from:
            from .engine.checkpoint import load_checkpoint
            from .metrics.postfilter_report import band_edge_bins

            bands = (load_checkpoint(a.band_edges_from).get("meta") or {}).get("bands")
            if not bands:
                raise VcganError(f"{a.band_edges_from}: not a band-split (STFT) postfilter checkpoint")
            edges = band_edge_bins(bands)
        baselines = [b for b in (a.baselines or "").split(",") if b] or None
        result, curves = evaluate_postfilter(a.ref_dir, dict(zip(names, a.conv_dir)), a.sample_rate, a.jobs,
                                             edge_bins=edges, baselines=baselines)
        out = Path(a.output) if a.output else Path(a.conv_dir[0]).parent / "postfilter_evaluation"
        written = write_postfilter_report(result, curves, out, a.title)
        print(markdown(result, a.title))
        print("wrote " + ", ".join(str(p) for p in written))
        return
    if len(a.conv_dir) != 1:
        raise VcganError("several directories are compared with --postfilter; without it give one")
    a.conv_dir = a.conv_dir[0]
    result = evaluate(a.ref_dir, a.conv_dir, a.sample_rate, a.jobs, cache_dir=a.cache, direction=a.direction)
    out = Path(a.output) if a.output else Path(a.conv_dir) / "evaluation"
    js, md = write_report(result, out, a.title)
    print(markdown_table(result, a.title))
    print(f"wrote {js} and {md}")


def _evaluate_compare(a):
    from .metrics.report import compare_reports, comparison_markdown, load_report
    from .report import write_report

    names = a.names.split(",") if a.names else [Path(p).stem for p in a.reports]
    if len(names) != len(a.reports) or len(set(names)) != len(names):
        raise VcganError(f"--names: give {len(a.reports)} distinct names, one per report; got {names}")
    comp = compare_reports({n: load_report(p) for n, p in zip(names, a.reports)}, a.baseline, a.margin)
    md = comparison_markdown(comp, a.title)
    print(md)
    if a.output:
        js, mdp = write_report(a.output, comp, md)
        print(f"wrote {mdp} and {js}")


def _postfilter(a):
    from .models.gan_postfilter.apply import GVScaling

    if bool(a.checkpoint) == bool(a.gv_scaling):
        raise VcganError("give either --checkpoint (a GAN postfilter) or --gv-scaling FEATS_DIR (the baseline)")
    pf = _load(a.checkpoint, "postfilter") if a.checkpoint else GVScaling.from_features(a.gv_scaling, a.natural, a.kind)
    written = pf.apply_paths(a.input, a.output, seed=a.seed, griffin_lim=a.griffin_lim, chunk_frames=a.chunk_frames,
                             synthesis=a.synthesis, skip_bad=a.skip_bad)
    what = pf.task if a.checkpoint else f"GV scaling of the {pf.kind} features"
    print(f"postfiltered {len(written)} file(s) ({what}) -> {a.output}")
    _report_skipped(pf)


def _festival_corpus(a):
    from .tts.festival import speak_list

    n = speak_list(a.text, a.voice, a.out, jobs=a.jobs)
    print(f"spoke {n} new sentence(s) with {a.voice} -> {a.out}")


def _tts_pairs(a):
    from .features.stft import STFTConfig
    from .features.world import FeatureConfig
    from .training import resolve_config
    from .tts.acoustic import AcousticConfig
    from .tts.pairs import make_pairs

    if a.threads:
        import torch

        torch.set_num_threads(a.threads)
    features = FeatureConfig.from_dict(resolve_config(a.config, [])["features"]) if a.config else FeatureConfig()
    acoustic = AcousticConfig(steps=a.steps, seed=a.seed)
    report = make_pairs(a.train, a.test, a.out, a.kind, a.folds, features,
                        STFTConfig(sample_rate=features.sample_rate), acoustic, jobs=a.jobs, dev=a.dev)
    for split, r in report["splits"].items():
        print(f"{split}: {r['utterances']} pairs; mean GV synthetic {r['gv_synthetic']:.4g} vs natural "
              f"{r['gv_natural']:.4g}; acoustic-model RMSE {r['rmse']:.4f}")


def _demo(a):
    from .demo import run_demo

    run_demo(out_dir=a.out, minutes=a.minutes, corpus=a.corpus, source=a.source, target=a.target, overrides=a.overrides)


def _model_source(s, required: bool, what: str = "trained checkpoint (.pt)") -> None:
    """--checkpoint FILE or --model NAME (a shipped model), one of them."""
    g = s.add_mutually_exclusive_group(required=required)
    g.add_argument("--checkpoint", help=what)
    g.add_argument("--model", metavar="NAME", help="a shipped model instead (`vcgan models` lists them)")


def _models(a):
    from . import pretrained

    if a.json:
        print(json.dumps({n: pretrained.manifest()[n] for n in pretrained.names()}, indent=1))
        return
    lines = pretrained.listing()
    print("\n".join(lines) if lines else "no shipped models in this installation")
    if lines and a.card:
        print()
    if a.card:
        print(pretrained.card_markdown(a.card))


def _export(a):
    from .engine.checkpoint import export_inference
    from .families import load

    src, out = Path(a.checkpoint), Path(a.output)
    if out.exists() and not a.force:
        raise VcganError(f"{out} exists: choose another -o or pass --force")
    if out.resolve() == src.resolve():
        raise VcganError(f"-o {out} is the checkpoint itself: write the export elsewhere")
    load(src)  # a checkpoint some family applies, or a clear error, before anything is written
    export_inference(src, out, {"from": src.name}, half=a.half)
    info = load(out).describe()
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, from {src.stat().st_size / 1e6:.2f} MB): "
          f"{info['task']}, applied by {info['applied_by']}")


def _ui(a):
    from .ui import serve

    if a.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: serving on {a.host}: anyone who can reach this machine can use the page", file=sys.stderr)
    serve(host=a.host, port=a.port, checkpoints=a.checkpoint or (), max_seconds=a.max_seconds)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vcgan", description="GAN-based voice conversion on WORLD features")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("prepare", help="WORLD features + per-speaker statistics of a corpus (cached, parallel)")
    s.add_argument("--corpus", required=True, help="corpus root (ROOT/<spk>/{train,test}/, VCC2018, or ROOT/<spk>/*.wav)")
    s.add_argument("--out", required=True, help="feature directory to write")
    s.add_argument("--layout", default="auto", choices=["auto", "split", "vcc2018", "generic"])
    s.add_argument("--speakers", nargs="+", help="only these speakers")
    s.add_argument("--config", help="YAML whose 'features' section sets the analysis")
    s.add_argument("--jobs", type=int, default=None, help="parallel processes (default: all cores)")
    s.add_argument("--skip-bad", action="store_true", help="report and skip unusable files instead of stopping")
    s.add_argument("overrides", nargs="*", help="feature settings as key=value, e.g. f0_method=dio")
    s.set_defaults(func=_prepare)

    s = sub.add_parser("train", help="train a model from a YAML config")
    s.add_argument("--config", help="YAML config (see recipes/*/conf)")
    s.add_argument("--resume", default="auto", help="checkpoint to resume from; 'auto' (default): out_dir/checkpoints/latest.pt if present; 'no': start fresh")
    s.add_argument("overrides", nargs="*", help="config overrides key=value, e.g. train.steps=1000")
    s.set_defaults(func=_train)

    s = sub.add_parser("tasks", help="the model families and task names `vcgan train` knows")
    s.set_defaults(func=_tasks)

    s = sub.add_parser("info", help="what a checkpoint or a shipped model is: task, what it maps, speakers or "
                                     "domains, steps, precision, and the command that applies it")
    s.add_argument("checkpoint", help="a checkpoint file or the name of a shipped model (`vcgan models`)")
    s.add_argument("--json", action="store_true", help="print it as JSON")
    s.set_defaults(func=_info)

    s = sub.add_parser("models", help="the shipped models, one line each: name, task, what it maps, size, "
                                       "held-out score (apply one with --model NAME)")
    s.add_argument("--json", action="store_true", help="print the manifest as JSON")
    s.add_argument("--card", metavar="NAME", help="also print that model's card")
    s.set_defaults(func=_models)

    s = sub.add_parser("export", help="an inference-only copy of a checkpoint (generators only: no discriminators, "
                                       "optimizer or training state), a fraction of its size")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("-o", "--output", required=True, help="the .pt file to write")
    s.add_argument("--half", action="store_true", help="store the weights as float16 (half the size; loading casts "
                   "them back to float32, the output moves by about 1e-3 relative)")
    s.add_argument("--force", action="store_true", help="replace an existing output file")
    s.set_defaults(func=_export)

    s = sub.add_parser("ui", help="a local web page: convert voices (upload or record), postfilter TTS output, "
                                   "translate, sample and complete images, with the shipped models or yours "
                                   "(pip install 'vcgan[ui]')")
    s.add_argument("--port", type=int, default=7860)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    s.add_argument("--checkpoint", action="append", help="also offer this checkpoint (repeat for several)")
    s.add_argument("--max-seconds", type=float, default=60.0, help="longest upload the page converts (default 60 s)")
    s.set_defaults(func=_ui)

    s = sub.add_parser("translate", help="translate an image or a folder with a trained image model")
    _model_source(s, required=True)
    s.add_argument("--target", help="target domain (CycleGAN: either domain name; StarGAN: any domain)")
    s.add_argument("--skip-bad", action="store_true", help="report and skip unreadable images instead of stopping")
    s.add_argument("input", help="image file or folder")
    s.add_argument("-o", "--output", required=True, help="output folder (or .png file for one input)")
    s.set_defaults(func=_translate)

    s = sub.add_parser("sample", help="images from a trained generator (StyleGAN, DCGAN): N PNGs and a grid, the "
                                      "same for the same seed")
    _model_source(s, required=True)
    s.add_argument("-n", type=int, default=16, help="number of images (default 16)")
    s.add_argument("-o", "--output", required=True, help="output folder")
    s.add_argument("--seed", type=int, default=0, help="latents and noise come from this seed (default 0)")
    s.add_argument("--psi", type=float, help="StyleGAN: truncation towards the average style, 1 (none, the default) "
                   "to 0 (the average image); 0.7 is the usual display value")
    s.add_argument("--grids", action="store_true", help="also write mixing.png (coarse styles of the rows, fine of "
                   "the columns), truncation.png (psi 1 -> 0) and interpolation.png")
    s.set_defaults(func=_sample)

    s = sub.add_parser("complete", help="fill the holes of images (white in --mask) with a trained completion "
                                        "network (GLCIC)")
    _model_source(s, required=True)
    s.add_argument("--mask", required=True, help="mask image: white (> 127) where to fill; resized to each image")
    s.add_argument("--blend", choices=("none", "poisson"), default="none",
                   help="poisson: blend the completion into its surroundings (Poisson image editing)")
    s.add_argument("--skip-bad", action="store_true", help="report and skip unreadable images instead of stopping")
    s.add_argument("input", nargs="+", help="image file(s) or folder(s)")
    s.add_argument("-o", "--output", required=True, help="output folder (or .png file for one input)")
    s.set_defaults(func=_complete)

    s = sub.add_parser("evaluate-images", help="domain accuracy, FID/KID (and PSNR/SSIM for pix2pix) of an image "
                                               "model on its test split, beside baselines; for generators (several "
                                               "--checkpoint to compare): Frechet distance, class coverage and "
                                               "confidence; for completion: PSNR/SSIM in the holes and Frechet "
                                               "distance beside mean fill, Telea and biharmonic inpainting; "
                                               "JSON + Markdown + grid")
    s.add_argument("--checkpoint", required=True, action="append",
                   help="repeat to compare generators, or completion networks with the first")
    s.add_argument("--names", help="generators, completion: comma-separated names, one per --checkpoint")
    s.add_argument("--split", choices=("test", "dev"), default="test",
                   help="completion: dev while choosing settings, test to report (default)")
    s.add_argument("--blend", action="store_true", help="completion: also score the model with Poisson blending")
    s.add_argument("--mask-seed", type=int, help="completion: the seed the held-out holes are drawn from "
                   "(default 2017; a new seed gives new holes when the held-out images have been read before)")
    s.add_argument("--samples", type=int, default=5000, help="generators: samples per system (default 5000)")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--classifier", help="Fashion-MNIST models: a classifier checkpoint (default: the cached one, trained "
                   "on first use); other datasets use a classifier of their own domains, trained on first use")
    s.add_argument("--fashion-mnist", help="folder with Fashion-MNIST's IDX files for the classifier")
    s.add_argument("--max-images", type=int, help="at most this many test images per domain")
    s.set_defaults(func=_evaluate_images)

    s = sub.add_parser("classifier", help="(re)train the classifier the image measures use: Fashion-MNIST's, or with "
                                         "--checkpoint the one of that model's dataset (its training domains)")
    s.add_argument("--checkpoint", help="an image model: (re)train the classifier of the dataset it was trained on")
    s.add_argument("--out", help="where to write it (default: the cache, ~/.cache/vcgan)")
    s.add_argument("--fashion-mnist", help="folder with Fashion-MNIST's IDX files")
    s.set_defaults(func=_classifier)

    s = sub.add_parser("convert", help="convert a wav file or a directory")
    _model_source(s, required=False, what="trained checkpoint (.pt)")
    s.add_argument("--feats", help="feature directory: convert with the statistics transform only (baseline)")
    s.add_argument("--calibrate", metavar="FEATS", help="with --checkpoint: measure the output calibration again on "
                   "FEATS (the features the model was trained on; refused if their speaker statistics differ) "
                   "instead of using the one stored in the checkpoint")
    s.add_argument("--no-calibrate", action="store_true", help="with --checkpoint: the model's raw output; by default "
                   "each direction's output is re-standardised by its per-dimension mean and std on the source's "
                   "training features, measured at the end of training and stored in the checkpoint")
    s.add_argument("--anchor", metavar="DIMS=W,...", help="with --calibrate: first average these output dimensions "
                   "with the statistics transform's, weight W for the transform (e.g. 1-4=0.5: c1 to c4, "
                   "the spectral tilt and the broad envelope shape)")
    s.add_argument("--shift-average", type=int, default=None, metavar="N", help="with --checkpoint: average the "
                   "model's output over its input delayed by 0..N-1 frames (4: every alignment to the generators' "
                   "time stride; N times the generator's work); default: as its stored calibration was measured")
    s.add_argument("--pitch-shift", type=float, default=0.0, metavar="SEMITONES", help="move the converted F0 by "
                   "this many semitones (-24 to 24; 12: an octave up), after the conversion to the target's range")
    s.add_argument("--source", required=True)
    s.add_argument("--target", required=True, help="target speaker; several, comma-separated (a,b): "
                   "OUTPUT/<source>_to_<target>/ for each, every input analysed once")
    s.add_argument("--chunk-frames", type=int, default=None, help="convert inputs longer than this many frames in "
                   "overlapping chunks, so that memory stays bounded (default 4000: 20 s at 5 ms; 0: whole inputs)")
    s.add_argument("--chunk-overlap", type=int, default=32, help="frames cross-faded between chunks")
    s.add_argument("--skip-bad", action="store_true", help="report and skip unusable audio files instead of stopping")
    s.add_argument("--cache", metavar="DIR", help="keep each input's WORLD analysis here (by content hash and "
                   "feature configuration) and reuse it in later calls: several systems converting the same files")
    s.add_argument("input", help="audio file or directory")
    s.add_argument("-o", "--output", required=True, help="output directory (or .wav path for a single file)")
    s.set_defaults(func=_convert)

    s = sub.add_parser("postfilter", help="postfilter synthetic speech (a file or a directory) with a GAN postfilter")
    _model_source(s, required=False, what="a trained postfilter: a GAN postfilter (mcep, stft) or a WaveCycleGAN(2)")
    s.add_argument("--gv-scaling", metavar="FEATS_DIR", help="instead: the GV-scaling baseline, with the global "
                                                           "variance of the natural training speech prepared there")
    s.add_argument("--natural", default="natural", help="--gv-scaling: name of the natural side in FEATS_DIR")
    s.add_argument("--kind", default="mcep", choices=["mcep", "stft"], help="--gv-scaling: the features it scales")
    s.add_argument("--seed", type=int, default=0, help="seed of the generator's noise")
    s.add_argument("--griffin-lim", action="store_true", help="STFT model: Griffin-Lim phase instead of the input's")
    s.add_argument("--synthesis", choices=["filter", "world"], help="mel-cepstrum model: filter the input waveform by "
                   "the change of its envelope (default: the input's own excitation) or resynthesise with WORLD "
                   "(the input's F0 and aperiodicity)")
    s.add_argument("--chunk-frames", type=int, default=None, help="filter long inputs this many 5-ms frames at a "
                   "time (default 2000; waveform postfilters: 0 for whole files)")
    s.add_argument("--skip-bad", action="store_true", help="report and skip unusable audio files instead of stopping")
    s.add_argument("input", help="audio file or directory")
    s.add_argument("-o", "--output", required=True, help="output directory (or .wav path for a single file)")
    s.set_defaults(func=_postfilter)

    s = sub.add_parser("festival-corpus", help="speak a text list (id|sentence lines) with a festival voice: "
                                               "<id>.wav + <id>.seg (segments with festival's timing)")
    s.add_argument("--text", required=True)
    s.add_argument("--voice", default="kal_diphone", help="festival voice without 'voice_' (kal_diphone, ked_diphone)")
    s.add_argument("--out", required=True)
    s.add_argument("--jobs", type=int, default=2)
    s.set_defaults(func=_festival_corpus)

    s = sub.add_parser("tts-pairs", help="synthetic/natural pairs for postfilter training: an MSE acoustic model "
                                         "(out-of-fold for training sentences) resynthesised with natural excitation")
    s.add_argument("--train", required=True, help="natural training speech: <utt>.wav + <utt>.seg")
    s.add_argument("--test", required=True, help="natural test speech, same layout")
    s.add_argument("--out", required=True, help="writes OUT/{natural,synthetic}/{train,test}/*.wav and pairs.json")
    s.add_argument("--kind", default="mcep", choices=["mcep", "stft"])
    s.add_argument("--folds", type=int, default=4)
    s.add_argument("--dev", type=int, default=0, help="move the last N training sentences to OUT/*/dev: "
                                                      "out-of-fold, never trained on by the postfilter; tune there")
    s.add_argument("--steps", type=int, default=1000, help="acoustic model training steps per fold")
    s.add_argument("--threads", type=int, default=None, help="torch threads for the acoustic model")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--config", help="YAML whose 'features' section sets the WORLD analysis")
    s.add_argument("--jobs", type=int, default=None)
    s.set_defaults(func=_tts_pairs)

    s = sub.add_parser("evaluate", help="MCD, log-F0 RMSE and V/UV error of converted vs reference speech; "
                                         "with --postfilter also GV, MS and log-spectral distances")
    s.add_argument("ref_dir")
    s.add_argument("conv_dir", nargs="+", help="converted speech; with --postfilter, one directory per system")
    s.add_argument("--postfilter", action="store_true", help="postfilter measures (MCD, GV, MS, LSD + plots) of "
                                                            "each directory against the natural speech in REF_DIR")
    s.add_argument("--names", help="--postfilter: comma-separated system names (default: the directory names)")
    s.add_argument("--baselines", help="--postfilter: comma-separated names the other systems are compared with, "
                   "with paired bootstrap 95%% intervals (default: the first directory, e.g. the synthetic input)")
    s.add_argument("--band-edges-from", metavar="CKPT", help="--postfilter: also measure the jump across the band "
                                                            "edges of this STFT postfilter checkpoint")
    s.add_argument("-o", "--output", help="output prefix for .json/.md (default CONV_DIR/evaluation)")
    s.add_argument("--sample-rate", type=int, default=16000)
    s.add_argument("--jobs", type=int, default=None)
    s.add_argument("--title", default=None)
    s.add_argument("--direction", metavar="NAME", help="the name of the one direction CONV_DIR holds, e.g. kal_to_slt "
                                                      "(default: its directory name), so that `vcgan evaluate-compare` "
                                                      "pairs systems stored under different names")
    s.add_argument("--cache", metavar="DIR", help="keep each file's analysis here (by content hash) and reuse it "
                                                 "in later calls: several systems scored against the same references (not with --postfilter)")
    s.set_defaults(func=_evaluate)

    s = sub.add_parser("evaluate-compare", help="one table of several `vcgan evaluate` reports (same directions): "
                                                 "MCD per direction, each system minus a baseline, directions won")
    s.add_argument("reports", nargs="+", help="JSON reports written by `vcgan evaluate`")
    s.add_argument("--baseline", required=True, help="the system (name) the others are compared with")
    s.add_argument("--names", help="comma-separated system names (default: the reports' file names)")
    s.add_argument("--margin", type=float, default=0.5, help="count directions at least this many dB under the baseline")
    s.add_argument("-o", "--output", help="write OUTPUT.md and OUTPUT.json")
    s.add_argument("--title", default=None)
    s.set_defaults(func=_evaluate_compare)

    s = sub.add_parser("demo", help="train CycleGAN-VC2 kal->slt on the bundled corpus and report")
    s.add_argument("--out", default="exp/demo")
    s.add_argument("--minutes", type=float, default=10.0, help="training time budget")
    s.add_argument("--corpus", default=None, help="corpus root (default: the bundled demo corpus)")
    s.add_argument("--source", default="kal")
    s.add_argument("--target", default="slt")
    s.add_argument("overrides", nargs="*", help="config overrides key=value")
    s.set_defaults(func=_demo)
    return p


def main(argv=None) -> int:
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "model", None):
            from . import pretrained

            args.checkpoint = str(pretrained.path(args.model))
        args.func(args)
    except VcganError as exc:
        print(f"vcgan {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
